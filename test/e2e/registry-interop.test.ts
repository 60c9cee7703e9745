// Interop with skopeo and umoci through Debian's docker-registry, for what the other registry
// tests do not cover: an image with whiteouts (built by umoci, pushed by skopeo) pulled by
// lamina must mount exactly as `umoci unpack` extracts it, and pushed back by lamina it must
// keep its digests for skopeo and unpack the same with umoci.
//
// Covered elsewhere: lamina push read back by skopeo inspect/copy with the same manifest,
// config and layer digests (registry-push.test.ts), and a skopeo `copy --all` multi-arch
// index from which lamina picks the host's or --platform's manifest (registry-pull.test.ts).
import { chmod, link, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseMountInfo } from '../../src/fuse/mountinfo.js';
import { buildOciLayout, diffSnapshots, readOciImage, treeSnapshot, umociUnpack, type TreeEntry } from '../helpers/images.js';
import { lamina, laminaOk } from '../helpers/lamina.js';
import { run, runOk } from '../helpers/proc.js';
import type { Registry } from '../helpers/registry.js';
import { pushLayout, useRegistryStore } from '../helpers/registry-store.js';

const canMount = process.getuid?.() === 0 && (await readFile('/dev/fuse').then(() => true, (e) => e.code !== 'ENOENT'));

/** Layer 1: what the later layers delete, replace or hide. */
async function base(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  for (const d of ['etc', 'dir/sub', 'gone-dir/x', 'opq/sub', 'links', 'hard', 'perm', 'owned', 'devs', 'xattr']) await mkdir(p(d), { recursive: true });
  await writeFile(p('etc/hostname'), 'base\n');
  await writeFile(p('etc/config'), 'key=value\n');
  await writeFile(p('etc/keep'), 'hidden by an explicit whiteout\n');
  await writeFile(p('dir/a'), 'a file, later a directory\n');
  await writeFile(p('dir/b'), 'deleted\n');
  await writeFile(p('dir/sub/c'), 'deleted later\n');
  await writeFile(p('gone-dir/x/y'), 'whole tree deleted\n');
  await writeFile(p('gone-file'), 'deleted\n');
  await writeFile(p('opq/old'), 'hidden by the opaque marker\n');
  await writeFile(p('opq/sub/old2'), 'hidden too\n');
  await symlink('../etc/hostname', p('links/rel'));
  await symlink('/etc/hostname', p('links/abs'));
  await writeFile(p('hard/a'), 'two names, the first one deleted\n');
  await link(p('hard/a'), p('hard/b'));
  await writeFile(p('perm/suid'), '#!/bin/sh\n');
  await chmod(p('perm/suid'), 0o4755);
  await writeFile(p('owned/file'), 'user 1000\n');
  await runOk('chown', ['-R', '1000:1000', p('owned')]);
  await runOk('mknod', ['-m', '0666', p('devs/null'), 'c', '1', '3']);
  await runOk('mkfifo', ['-m', '0644', p('devs/fifo')]);
  await writeFile(p('xattr/file'), 'has an xattr\n');
  await runOk('setfattr', ['-n', 'user.comment', '-v', 'hello', p('xattr/file')]);
}

/** Layer 2 (umoci repack writes `.wh.` whiteouts for the deletions). */
async function changes(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  await rm(p('gone-file'));
  await rm(p('gone-dir'), { recursive: true });
  await rm(p('dir/b'));
  await rm(p('dir/a'));
  await mkdir(p('dir/a'));
  await writeFile(p('dir/a/inner'), 'a directory now\n');
  await rm(p('hard/a'));
  await writeFile(p('etc/hostname'), 'changed\n');
  await chmod(p('etc/config'), 0o600);
  await mkdir(p('new'));
  await writeFile(p('new/file'), 'new\n');
}

/** Layer 3, verbatim: an opaque directory and explicit whiteouts (umoci repack never writes `.wh..wh..opq`). */
const raw = {
  entries: [
    { name: 'opq/', type: 'directory' as const, mode: 0o755 },
    { name: 'opq/.wh..wh..opq' },
    { name: 'opq/fresh', content: 'only this survives in opq\n' },
    { name: 'links/.wh.abs' },
    { name: 'etc/.wh.keep' },
  ],
};

/** Layer 4, on top of the raw one. */
async function after(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  await writeFile(p('opq/after'), 'added over the opaque layer\n');
  await rm(p('dir/sub/c'));
  await rm(p('links/rel'));
  await writeFile(p('links/rel'), 'a symlink, now a file\n');
}

async function laminaMounts(prefix: string): Promise<string[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'))
    .filter((m) => m.mountPoint.startsWith(prefix) && m.fstype.startsWith('fuse'))
    .map((m) => m.mountPoint);
}

describe.runIf(canMount)('skopeo-pushed image with whiteouts', () => {
  let registry: Registry;
  let work: string;
  let root: string;
  let env: NodeJS.ProcessEnv;
  useRegistryStore('lamina-interop-', (s) => ({ registry, work, root, env } = s), { sharedStore: true });
  let layout: string;
  let unpacked: string;
  let want: TreeEntry[];
  let mnt: string;
  const ref = () => registry.ref('lamina/whiteouts:latest');
  const skopeo = (args: string[]) => runOk('skopeo', args, { timeout: 120_000 });

  beforeAll(async () => {
    env = { ...env, LAMINA_RUN_DIR: path.join(work, 'run') };
    mnt = path.join(work, 'mnt');
    await mkdir(mnt);
    layout = path.join(work, 'layout');
    await buildOciLayout(layout, [base, changes, raw, after], { config: { cmd: ['/bin/sh'] } });
    unpacked = await umociUnpack(layout, 'latest', path.join(work, 'unpacked'));
    want = await treeSnapshot(unpacked);
    await pushLayout(layout, ref());
  }, 300_000);

  afterEach(async () => {
    for (const m of await laminaMounts(work ?? '/nonexistent')) {
      const r = await lamina(root, ['umount', m], { env });
      if (r.code !== 0) await run('umount', ['-l', m]);
    }
  }, 60_000);

  afterAll(async () => {
    if (work) for (const m of await laminaMounts(work)) await run('umount', ['-l', m]);
  }, 60_000);

  it('the fixture has what it should: whiteouts, an opaque directory, retyped entries', () => {
    const paths = new Set(want.map((e) => e.path));
    for (const gone of ['/gone-file', '/gone-dir', '/dir/b', '/dir/sub/c', '/hard/a', '/opq/old', '/opq/sub', '/links/abs', '/etc/keep']) {
      expect(paths.has(gone), gone).toBe(false);
    }
    for (const kept of ['/dir/a/inner', '/hard/b', '/opq/fresh', '/opq/after', '/new/file', '/devs/null', '/devs/fifo']) expect(paths.has(kept), kept).toBe(true);
    expect(want.find((e) => e.path === '/links/rel')?.type).toBe('file');
    expect(want.find((e) => e.path === '/xattr/file')?.xattrs).toEqual({ 'user.comment': Buffer.from('hello').toString('base64') });
  }, 10_000);

  it('pulled by lamina, mounts exactly as umoci unpack extracts the layout', async () => {
    await laminaOk(root, ['pull', '-q', ref()], { env });
    const local = await readOciImage(layout);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', ref()]));
    expect(info.Id).toBe(local.manifest.config.digest);
    expect(info.RootFS.Layers).toEqual(local.config.rootfs.diff_ids);
    const r = await lamina(root, ['mount', '--read-only', ref(), mnt], { env, timeout: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const got = await treeSnapshot(mnt);
    expect(diffSnapshots(want, got, { labels: ['umoci', 'lamina'] })).toEqual([]);
    expect((await lamina(root, ['umount', mnt], { env })).code).toBe(0);
  }, 120_000);

  it('pushed back by lamina, skopeo copies the same digests and umoci unpacks the same tree', async () => {
    await laminaOk(root, ['pull', '-q', ref()], { env });
    const back = registry.ref('lamina/whiteouts-back:1');
    await laminaOk(root, ['tag', ref(), back]);
    const out = await laminaOk(root, ['push', back], { env });
    const local = await readOciImage(layout);
    expect(out).toMatch(new RegExp(`^1: digest: ${local.manifestDigest} size: \\d+$`, 'm'));
    const copied = path.join(work, 'copied');
    await skopeo(['copy', '-q', '--src-tls-verify=false', `docker://${back}`, `oci:${copied}:latest`]);
    const c = await readOciImage(copied);
    expect(c.manifestDigest).toBe(local.manifestDigest);
    expect(c.manifest.layers).toEqual(local.manifest.layers);
    const again = await treeSnapshot(await umociUnpack(copied, 'latest', path.join(work, 'unpacked-again')));
    expect(diffSnapshots(want, again, { labels: ['original', 'round trip'] })).toEqual([]);
  }, 120_000);
});
