// lamina pull against Debian's docker-registry, with images built by umoci and pushed by skopeo.
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOciLayout } from '../helpers/images.js';
import { BIN, lamina, laminaOk } from '../helpers/lamina.js';
import { runOk } from '../helpers/proc.js';
import { freePort, type Registry } from '../helpers/registry.js';
import { pushLayout, useRegistryStore } from '../helpers/registry-store.js';

let registry: Registry;
let work: string;
let root: string;
let env: NodeJS.ProcessEnv;
useRegistryStore('lamina-pull-', (s) => ({ registry, work, root, env } = s));

const write = (p: string, s: string) => async (rootfs: string) => writeFile(path.join(rootfs, p), s);
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function rawManifest(ref: string): Promise<{ digest: string; json: { layers: Array<{ digest: string }>; config: { digest: string } } }> {
  const raw = (await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])).stdout;
  return { digest: sha(raw), json: JSON.parse(raw) };
}

/** Blob names and every index row: what a user could see of the store. */
async function storeState(): Promise<string> {
  const db = new Database(path.join(root, 'index.db'), { readonly: true });
  try {
    const rows = ['layers', 'layer_blobs', 'entries', 'images', 'image_layers', 'tags', 'repo_digests'].map((t) => db.prepare(`SELECT * FROM ${t}`).all());
    const blobs = (await readdir(path.join(root, 'blobs/sha256'))).sort();
    return JSON.stringify({ blobs, rows });
  } finally {
    db.close();
  }
}

describe('pull', () => {
  let layout: string;
  let ref: string;
  beforeAll(async () => {
    layout = path.join(work, 'two');
    await buildOciLayout(layout, [write('base.txt', 'base\n'), write('top.txt', 'top\n')], { config: { env: ['A=1'] } });
    ref = registry.ref('lamina/two:latest');
    await pushLayout(layout, ref);
  }, 120_000);

  it('prints docker-style lines and records diff_ids, tag and repo digest', async () => {
    const out = (await laminaOk(root, ['pull', ref], { env })).trimEnd().split('\n');
    const { digest, json } = await rawManifest(ref);
    const ids = json.layers.map((l) => l.digest.slice(7, 19));
    expect(out[0]).toBe('latest: Pulling from lamina/two');
    expect(out.slice(1, 3)).toEqual(ids.map((id) => `${id}: Pulling fs layer`));
    for (const id of ids) {
      expect(out).toContain(`${id}: Downloading`);
      expect(out.indexOf(`${id}: Pull complete`)).toBeGreaterThan(out.indexOf(`${id}: Downloading`));
    }
    expect(out.slice(-3)).toEqual([`Digest: ${digest}`, `Status: Downloaded newer image for ${ref}`, ref]);
    const want = JSON.parse((await runOk('skopeo', ['inspect', '--config', '--tls-verify=false', `docker://${ref}`])).stdout);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', ref], { env }));
    expect(info.RootFS.Layers).toEqual(want.rootfs.diff_ids);
    expect(info.Id).toBe(json.config.digest);
    expect(info.RepoTags).toEqual([ref]);
    expect(info.RepoDigests).toEqual([`${registry.ref('lamina/two')}@${digest}`]);
    expect(info.Manifest.Digest).toBe(digest);
    expect(await readdir(path.join(root, 'pulls'))).toEqual([]);
  }, 60_000);

  it('says "Image is up to date" the second time and fetches no layer', async () => {
    await laminaOk(root, ['pull', ref], { env });
    const out = (await laminaOk(root, ['pull', ref], { env })).trimEnd().split('\n');
    const { digest } = await rawManifest(ref);
    expect(out).toEqual(['latest: Pulling from lamina/two', `Digest: ${digest}`, `Status: Image is up to date for ${ref}`, ref]);
  }, 60_000);

  it('-q prints only the reference', async () => {
    expect(await laminaOk(root, ['pull', '-q', ref], { env })).toBe(`${ref}\n`);
  }, 60_000);

  it('on a terminal, redraws the layer lines in place', async () => {
    const cmd = [process.execPath, BIN, '--root', root, 'pull', ref].map((a) => `'${a}'`).join(' ');
    const r = await runOk('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, ...env }, timeout: 60_000 });
    expect(r.stdout).toContain('\x1b[2K'); // erase line, then rewrite it
    expect(r.stdout).toMatch(/\x1b\[\d+A/); // cursor up over the block
    const last = r.stdout.split('\r\n').filter(Boolean).slice(-3);
    expect(last[2]).toBe(ref);
  }, 60_000);

  it('pulls by digest without tagging', async () => {
    const { digest } = await rawManifest(ref);
    const byDigest = `${registry.ref('lamina/two')}@${digest}`;
    const out = (await laminaOk(root, ['pull', byDigest], { env })).trimEnd().split('\n');
    expect(out[0]).toBe(`${digest}: Pulling from lamina/two`);
    expect(out.at(-1)).toBe(byDigest);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', byDigest], { env }));
    expect(info.RepoTags).toEqual([]);
    expect(info.RepoDigests).toEqual([byDigest]);
  }, 60_000);

  it('says "Already exists" for a base layer it already has', async () => {
    const base = path.join(work, 'base-only');
    await buildOciLayout(base, [write('base.txt', 'base\n')]);
    await pushLayout(base, registry.ref('lamina/base:latest'));
    const child = path.join(work, 'child');
    await runOk('cp', ['-a', base, child]);
    // The child is the base plus one layer: same base blob in the registry.
    await runOk('umoci', ['unpack', '--image', `${child}:latest`, path.join(work, 'bundle')]);
    await writeFile(path.join(work, 'bundle/rootfs/child.txt'), 'child\n');
    await runOk('umoci', ['repack', '--image', `${child}:latest`, path.join(work, 'bundle')]);
    await pushLayout(child, registry.ref('lamina/child:latest'));
    await laminaOk(root, ['pull', registry.ref('lamina/base')], { env });
    const out = (await laminaOk(root, ['pull', registry.ref('lamina/child')], { env })).split('\n');
    const { json } = await rawManifest(registry.ref('lamina/child:latest'));
    const [baseId, childId] = json.layers.map((l) => l.digest.slice(7, 19));
    expect(out).toContain(`${baseId}: Already exists`);
    expect(out).toContain(`${childId}: Pull complete`);
    expect(out.filter((l) => l.startsWith(`${baseId}:`))).toEqual([`${baseId}: Already exists`]);
  }, 120_000);
});

describe('multi-platform index', () => {
  let refMulti: string;
  const configs: Record<string, string> = {};
  beforeAll(async () => {
    const layout = path.join(work, 'multi');
    await buildOciLayout(layout, [write('arch.txt', 'amd64\n')], { tag: 'amd64' });
    await buildOciLayout(layout, [write('arch.txt', 'arm64\n')], { tag: 'arm64' });
    await runOk('umoci', ['config', '--no-history', '--image', `${layout}:arm64`, '--architecture=arm64']);
    const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8'));
    const manifests = [];
    for (const arch of ['amd64', 'arm64']) {
      const d = index.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'] === arch);
      const m = JSON.parse(await readFile(path.join(layout, 'blobs/sha256', d.digest.slice(7)), 'utf8'));
      configs[arch] = m.config.digest;
      manifests.push({ mediaType: d.mediaType, digest: d.digest, size: d.size, platform: { os: 'linux', architecture: arch } });
    }
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
    await writeFile(path.join(layout, 'blobs/sha256', sha(body).slice(7)), body);
    index.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha(body), size: body.length,
      annotations: { 'org.opencontainers.image.ref.name': 'multi' } });
    await writeFile(path.join(layout, 'index.json'), JSON.stringify(index));
    refMulti = registry.ref('lamina/multi:latest');
    await pushLayout(layout, refMulti, { tag: 'multi', all: true });
  }, 120_000);

  it('picks the host platform (amd64), and records the index digest', async () => {
    const out = (await laminaOk(root, ['pull', refMulti], { env })).trimEnd().split('\n');
    const [info] = JSON.parse(await laminaOk(root, ['inspect', refMulti], { env }));
    expect(info.Id).toBe(configs.amd64);
    expect(info.Architecture).toBe('amd64');
    const { digest } = await rawManifest(refMulti);
    expect(out.at(-3)).toBe(`Digest: ${digest}`);
    expect(info.RepoDigests).toEqual([`${registry.ref('lamina/multi')}@${digest}`]);
  }, 60_000);

  it('--platform linux/arm64 picks the other manifest', async () => {
    await laminaOk(root, ['pull', '--platform', 'linux/arm64', refMulti], { env });
    const [info] = JSON.parse(await laminaOk(root, ['inspect', refMulti], { env }));
    expect(info.Id).toBe(configs.arm64);
    expect(info.Architecture).toBe('arm64');
  }, 60_000);

  it('--platform with no match names what the index has', async () => {
    const r = await lamina(root, ['pull', '--platform', 'linux/s390x', refMulti], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no manifest for linux\/s390x \(have linux\/amd64, linux\/arm64\)/);
  }, 60_000);
});

describe('pull failures', () => {
  it('a missing tag fails with "manifest unknown"', async () => {
    const layout = path.join(work, 'one');
    await buildOciLayout(layout, [write('x', 'x')]);
    await pushLayout(layout, registry.ref('lamina/one:latest'));
    const r = await lamina(root, ['pull', registry.ref('lamina/one:nope')], { env });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`error: pull ${registry.ref('lamina/one:nope')}: manifest unknown`);
  }, 60_000);

  it('a repository never pushed fails the same way, on one line', async () => {
    const r = await lamina(root, ['pull', registry.ref('lamina/absent')], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: pull ${registry.ref('lamina/absent')}: manifest unknown\n`);
  }, 60_000);

  it('an unreachable registry fails fast with "connection refused"', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const r = await lamina(root, ['pull', `127.0.0.1:${port}/x`], { env });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: pull 127.0.0.1:${port}/x: connecting to 127.0.0.1:${port}: connection refused\nhint: `));
  }, 30_000);

  it('a blob corrupted in the registry fails with a digest mismatch and leaves the store unchanged', async () => {
    const layout = path.join(work, 'victim');
    await buildOciLayout(layout, [write('a.txt', 'a'.repeat(4096)), write('b.bin', 'b'.repeat(100_000))]);
    const ref = registry.ref('lamina/victim:latest');
    await pushLayout(layout, ref);
    const { json } = await rawManifest(ref);
    const hex = json.layers[1]!.digest.slice(7);
    const file = path.join(registry.dir, 'data/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const data = await readFile(file);
    data.fill(0x55, 40, data.length - 40); // same size, so only the digest can tell
    await writeFile(file, data);
    await laminaOk(root, ['info']);
    const before = await storeState();
    const r = await lamina(root, ['pull', ref], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: pull ${ref.replace(/\./g, '\\.')}: layer sha256:${hex}: digest mismatch: want sha256:${hex}, got sha256:[0-9a-f]{64}\n$`));
    expect(await storeState()).toBe(before);
    expect(await readdir(path.join(root, 'pulls'))).toEqual([]);
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
  }, 60_000);
});
