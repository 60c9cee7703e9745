// lamina push to Debian's docker-registry, read back with skopeo.
import { rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOciLayout, ociToDockerArchive, readOciImage } from '../helpers/images.js';
import { lamina, laminaOk } from '../helpers/lamina.js';
import { runOk } from '../helpers/proc.js';
import type { Registry } from '../helpers/registry.js';
import { useRegistryStore } from '../helpers/registry-store.js';

let registry: Registry;
let work: string;
let root: string;
let env: NodeJS.ProcessEnv;
let layout: string;
useRegistryStore('lamina-push-', (s) => ({ registry, work, root, env } = s));

const write = (p: string, s: string) => async (rootfs: string) => writeFile(path.join(rootfs, p), s);

async function skopeo(args: string[]): Promise<string> {
  return (await runOk('skopeo', args, { timeout: 120_000 })).stdout;
}
const inspectRaw = async (ref: string) => JSON.parse(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]));
const manifestDigest = async (ref: string) => (await skopeo(['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${ref}`])).trim();

/** Load the shared layout into a fresh store and tag it as `ref`. */
async function loadAs(ref: string): Promise<void> {
  const loaded = await laminaOk(root, ['load', '-i', layout]);
  await laminaOk(root, ['tag', loaded.trim().split(' ').pop()!, ref]);
}

beforeAll(async () => {
  layout = path.join(work, 'layout');
  await buildOciLayout(layout, [write('base.txt', 'base\n'), write('top.txt', 'top\n')], { config: { cmd: ['/bin/sh'] } });
}, 120_000);

describe('push', () => {
  it('pushes a loaded image that skopeo reads back byte for byte', async () => {
    const ref = registry.ref('lamina/pushed:1.0');
    await loadAs(ref);
    const out = (await laminaOk(root, ['push', ref], { env })).trimEnd().split('\n');
    const local = await readOciImage(layout);
    const ids = local.manifest.layers.map((l) => l.digest.slice(7, 19)).reverse();
    expect(out[0]).toBe(`The push refers to repository [${registry.ref('lamina/pushed')}]`);
    expect(out.filter((l) => l.endsWith(': Preparing'))).toEqual(ids.map((id) => `${id}: Preparing`));
    for (const id of ids) expect(out).toContain(`${id}: Pushed`);
    const size = (await stat(path.join(layout, 'blobs/sha256', local.manifestDigest.slice(7)))).size;
    expect(out.at(-1)).toBe(`1.0: digest: ${local.manifestDigest} size: ${size}`);
    expect(await manifestDigest(ref)).toBe(local.manifestDigest);
    const config = JSON.parse(await skopeo(['inspect', '--config', '--tls-verify=false', `docker://${ref}`]));
    expect(config.rootfs.diff_ids).toEqual(local.config.rootfs.diff_ids);
    const back = path.join(work, 'back');
    await skopeo(['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${back}:latest`]);
    const copied = await readOciImage(back);
    expect(copied.manifest.layers).toEqual(local.manifest.layers);
    expect(copied.manifest.config.digest).toBe(local.manifest.config.digest);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', ref]));
    expect(info.RepoDigests).toEqual([`${registry.ref('lamina/pushed')}@${local.manifestDigest}`]);
  }, 120_000);

  it('says "Layer already exists" the second time', async () => {
    const ref = registry.ref('lamina/twice:latest');
    await loadAs(ref);
    await laminaOk(root, ['push', ref], { env });
    const out = (await laminaOk(root, ['push', ref], { env })).trimEnd().split('\n');
    const layers = out.filter((l) => /^[0-9a-f]{12}: /.test(l) && !l.endsWith('Preparing'));
    expect(layers).toHaveLength(2);
    for (const l of layers) expect(l).toMatch(/^[0-9a-f]{12}: Layer already exists$/);
  }, 120_000);

  it('keeps the manifest digest through pull then push, mounting blobs from the source repository', async () => {
    const src = registry.ref('lamina/source:latest');
    await runOk('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${src}`], { timeout: 120_000 });
    const want = await manifestDigest(src);
    await laminaOk(root, ['pull', src], { env });
    const dst = registry.ref('lamina/copy:v2');
    await laminaOk(root, ['tag', src, dst]);
    const out = (await laminaOk(root, ['push', dst], { env })).trimEnd().split('\n');
    expect(out.filter((l) => l.endsWith('Mounted from lamina/source'))).toHaveLength(2);
    expect(out.at(-1)).toMatch(new RegExp(`^v2: digest: ${want} size: \\d+$`));
    expect(await manifestDigest(dst)).toBe(want);
  }, 120_000);

  it('pushes a docker-archive image (uncompressed layers) that pulls back to the same image ID', async () => {
    const archive = path.join(work, 'img.tar');
    await ociToDockerArchive(layout, 'latest', archive, 'example.com/a/b:1');
    await laminaOk(root, ['load', '-i', archive]);
    const ref = registry.ref('lamina/from-archive:1');
    await laminaOk(root, ['tag', 'example.com/a/b:1', ref]);
    await laminaOk(root, ['push', ref], { env });
    const m = await inspectRaw(ref);
    expect(m.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      'application/vnd.docker.image.rootfs.diff.tar', 'application/vnd.docker.image.rootfs.diff.tar']);
    const [mine] = JSON.parse(await laminaOk(root, ['inspect', ref]));
    const other = `${root}-other`;
    await laminaOk(other, ['pull', ref], { env });
    const [theirs] = JSON.parse(await laminaOk(other, ['inspect', ref]));
    expect(theirs.Id).toBe(mine.Id);
  }, 120_000);

  it('pushes the uncompressed tar, with an uncompressed media type, when the compressed blob is gone', async () => {
    const ref = registry.ref('lamina/plain:latest');
    await loadAs(ref);
    const local = await readOciImage(layout);
    const gone = local.manifest.layers[1]!.digest;
    await rm(path.join(root, 'blobs/sha256', gone.slice(7)));
    await laminaOk(root, ['push', ref], { env });
    const m = await inspectRaw(ref);
    expect(m.layers[0]).toEqual(local.manifest.layers[0]);
    expect(m.layers[1].digest).toBe(local.config.rootfs.diff_ids[1]);
    expect(m.layers[1].mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    const config = JSON.parse(await skopeo(['inspect', '--config', '--tls-verify=false', `docker://${ref}`]));
    expect(config.rootfs.diff_ids).toEqual(local.config.rootfs.diff_ids);
  }, 120_000);

  it('refuses a tag that is not in the store', async () => {
    const r = await lamina(root, ['push', registry.ref('lamina/nothing:1')], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: push ${registry.ref('lamina/nothing:1')}: An image does not exist locally with the tag: ${registry.ref('lamina/nothing:1')}\n`);
  }, 60_000);
});
