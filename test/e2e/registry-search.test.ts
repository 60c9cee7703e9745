// lamina search: /v2/_catalog and /v2/<name>/tags/list, both over more than one page.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOciLayout } from '../helpers/images.js';
import { lamina, laminaOk } from '../helpers/lamina.js';
import { runOk } from '../helpers/proc.js';
import type { Registry } from '../helpers/registry.js';
import { pushLayout, useRegistryStore } from '../helpers/registry-store.js';

const REPOS = 105; // the client asks for pages of 100
const TAGS = 130;

let registry: Registry;
let work: string;
let root: string;
let env: NodeJS.ProcessEnv;
useRegistryStore('lamina-search-', (s) => ({ registry, work, root, env } = s), { sharedStore: true });

async function ok(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  return res;
}

/** Put the seed image's manifest into `repo` under `tag`, mounting its blobs (fast: no skopeo per repo). */
async function copyManifest(manifest: string, blobs: string[], repo: string, tag: string): Promise<void> {
  for (const d of blobs) {
    await ok(await fetch(`${registry.url}/v2/${repo}/blobs/uploads/?mount=${d}&from=lamina/seed`, { method: 'POST' }), `mount ${d}`);
  }
  await ok(await fetch(`${registry.url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT', body: manifest, headers: { 'Content-Type': JSON.parse(manifest).mediaType ?? 'application/vnd.oci.image.manifest.v1+json' },
  }), `put ${repo}:${tag}`);
}

beforeAll(async () => {
  const layout = path.join(work, 'layout');
  await buildOciLayout(layout, [async (rootfs) => writeFile(path.join(rootfs, 'f'), 'f\n')]);
  await pushLayout(layout, registry.ref('lamina/seed:latest'));
  const manifest = (await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.ref('lamina/seed:latest')}`])).stdout;
  const m = JSON.parse(manifest);
  const blobs = [m.config.digest, ...m.layers.map((l: { digest: string }) => l.digest)];
  for (let i = 0; i < REPOS; i++) await copyManifest(manifest, blobs, `many/repo-${String(i).padStart(3, '0')}`, 'latest');
  for (let i = 0; i < TAGS; i++) await copyManifest(manifest, [], 'lamina/seed', `v${String(i).padStart(3, '0')}`);
}, 120_000);

describe('search', () => {
  it('lists every repository of the registry across catalog pages', async () => {
    const lines = (await laminaOk(root, ['search', `${registry.host}/`], { env })).trimEnd().split('\n');
    expect(lines[0]).toBe('NAME');
    const names = lines.slice(1);
    expect(names).toHaveLength(REPOS + 1);
    expect(names).toContain(registry.ref('lamina/seed'));
    expect(names).toContain(registry.ref(`many/repo-${REPOS - 1}`));
    expect(new Set(names).size).toBe(names.length);
  }, 60_000);

  it('filters by term and honors --limit', async () => {
    const out = await laminaOk(root, ['search', `${registry.host}/repo-10`], { env });
    expect(out).toBe(['NAME', ...[100, 101, 102, 103, 104].map((i) => registry.ref(`many/repo-${i}`))].join('\n') + '\n');
    const limited = (await laminaOk(root, ['search', '--limit', '3', `${registry.host}/many`], { env })).trimEnd().split('\n');
    expect(limited).toEqual(['NAME', ...[0, 1, 2].map((i) => registry.ref(`many/repo-${String(i).padStart(3, '0')}`))]);
  }, 60_000);

  it('--tags lists every tag across pages', async () => {
    const lines = (await laminaOk(root, ['search', '--tags', registry.ref('lamina/seed')], { env })).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^REPOSITORY\s+TAG$/);
    const tags = lines.slice(1).map((l) => l.split(/\s+/));
    expect(tags).toHaveLength(TAGS + 1);
    expect(tags.every(([name]) => name === registry.ref('lamina/seed'))).toBe(true);
    expect(tags.map(([, t]) => t)).toContain(`v${TAGS - 1}`);
    expect(tags.map(([, t]) => t)).toContain('latest');
  }, 60_000);

  it('--tags of an unknown repository fails on one line', async () => {
    const r = await lamina(root, ['search', '--tags', registry.ref('nope/nothing')], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: search --tags ${registry.ref('nope/nothing')}: name unknown: repository name not known to registry\n`);
  }, 60_000);
});
