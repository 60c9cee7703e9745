// Exercises the test helpers against the real tools they wrap (umoci, skopeo,
// docker-registry, getfattr, busybox), so other tests can rely on them.
import { createHash } from 'node:crypto';
import { chmod, chown, link, mkdir, mkdtemp, rm, symlink, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildOciLayout,
  busyboxRootfs,
  diffSnapshots,
  ociLayoutToTar,
  ociToDockerArchive,
  readOciImage,
  treeSnapshot,
  umociUnpack,
  type TreeEntry,
} from '../helpers/images.js';
import { pidAlive, run, runOk } from '../helpers/proc.js';
import { startRegistry } from '../helpers/registry.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const b64 = (s: string) => Buffer.from(s).toString('base64');

let work: string;
let layout: string;

/** Entries of the gzip layer `digest` of the layout, as `tar -tvz` lines. */
async function layerListing(digest: string): Promise<string[]> {
  const r = await runOk('tar', ['-tzf', path.join(layout, 'blobs', ...digest.split(':'))]);
  return r.stdout.split('\n').filter(Boolean);
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'lamina-helpers-test-'));
  layout = path.join(work, 'layout');
  await buildOciLayout(
    layout,
    [
      async (root) => {
        await writeFile(path.join(root, 'keep.txt'), 'keep me\n');
        await writeFile(path.join(root, 'gone.txt'), 'delete me\n');
        await mkdir(path.join(root, 'dir/sub'), { recursive: true });
        await writeFile(path.join(root, 'dir/a'), 'a\n');
        await writeFile(path.join(root, 'dir/sub/x'), 'x\n');
      },
      async (root) => {
        await unlink(path.join(root, 'gone.txt'));
        await mkdir(path.join(root, 'data'));
        await writeFile(path.join(root, 'data/h1'), 'linked\n');
        await link(path.join(root, 'data/h1'), path.join(root, 'data/h2'));
        await symlink('data/h1', path.join(root, 'link'));
        await runOk('mkfifo', [path.join(root, 'fifo')]);
        await runOk('mknod', [path.join(root, 'null'), 'c', '1', '3']);
        await runOk('setfattr', ['-n', 'user.test', '-v', 'hello', path.join(root, 'data/h1')]);
        await runOk('setfattr', ['-n', 'trusted.test', '-v', 'secret', path.join(root, 'keep.txt')]);
        await writeFile(path.join(root, 'owned'), 'mine\n');
        await chown(path.join(root, 'owned'), 1000, 1000);
        await chmod(path.join(root, 'owned'), 0o640);
        await writeFile(path.join(root, 'suid'), '#!/bin/sh\n');
        await chmod(path.join(root, 'suid'), 0o4755);
      },
    ],
    { tag: 'two', config: { env: ['PATH=/bin', 'FOO=bar'], cmd: ['/bin/sh', '-c', 'echo hi'], workdir: '/data', user: '1000:1000' } },
  );
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('buildOciLayout', () => {
  it('writes a 2-layer image with its config and a whiteout for the deleted file', async () => {
    const img = await readOciImage(layout, 'two');
    expect(img.manifest.layers).toHaveLength(2);
    expect(img.manifest.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip')).toBe(true);
    expect(img.config.rootfs.diff_ids).toHaveLength(2);
    expect(img.config.config).toMatchObject({
      Env: ['PATH=/bin', 'FOO=bar'],
      Cmd: ['/bin/sh', '-c', 'echo hi'],
      WorkingDir: '/data',
      User: '1000:1000',
    });
    const lower = await layerListing(img.manifest.layers[0]!.digest);
    const upper = await layerListing(img.manifest.layers[1]!.digest);
    expect(lower).toContain('gone.txt');
    expect(upper).toContain('.wh.gone.txt');
    // The second layer holds only the second callback's changes.
    expect(upper).not.toContain('dir/a');
    expect(upper).toEqual(expect.arrayContaining(['data/h1', 'data/h2', 'link', 'fifo', 'null', 'owned', 'suid']));
  }, 60_000);

  it('umoci unpack + treeSnapshot show every kind of entry', async () => {
    const rootfs = await umociUnpack(layout, 'two', path.join(work, 'unpack-two'));
    const snap = await treeSnapshot(rootfs);
    const by = new Map(snap.map((e) => [e.path, e]));
    expect(snap.map((e) => e.path)).toEqual([...snap.map((e) => e.path)].sort());

    expect(by.has('/gone.txt')).toBe(false);
    expect(by.get('/keep.txt')).toMatchObject({ type: 'file', size: 8, sha256: sha('keep me\n'), mode: 0o644 });
    expect(by.get('/keep.txt')!.xattrs).toEqual({ 'trusted.test': b64('secret') });
    expect(by.get('/dir/sub/x')).toMatchObject({ type: 'file', sha256: sha('x\n') });
    expect(by.get('/dir')).toMatchObject({ type: 'dir', mode: 0o755, size: 0 });

    const h1 = by.get('/data/h1')!;
    const h2 = by.get('/data/h2')!;
    expect(h1).toMatchObject({ type: 'file', nlink: 2, hardlinkGroup: '/data/h1', sha256: sha('linked\n') });
    expect(h2).toMatchObject({ type: 'file', nlink: 2, hardlinkGroup: '/data/h1' });
    expect(h1.xattrs).toEqual({ 'user.test': b64('hello') });
    expect(by.get('/keep.txt')!.hardlinkGroup).toBeUndefined();

    expect(by.get('/link')).toMatchObject({ type: 'symlink', linkname: 'data/h1', size: 7 });
    expect(by.get('/fifo')).toMatchObject({ type: 'fifo', size: 0 });
    expect(by.get('/null')).toMatchObject({ type: 'char', rdevMajor: 1, rdevMinor: 3 });
    expect(by.get('/owned')).toMatchObject({ type: 'file', uid: 1000, gid: 1000, mode: 0o640 });
    expect(by.get('/suid')).toMatchObject({ type: 'file', mode: 0o4755, uid: 0 });
    expect(by.get('/')).toMatchObject({ type: 'dir', path: '/' });
  }, 60_000);

  it('diffSnapshots is empty for equal trees and names each difference', async () => {
    const a = await umociUnpack(layout, 'two', path.join(work, 'diff-a'));
    const b = await umociUnpack(layout, 'two', path.join(work, 'diff-b'));
    const sa = await treeSnapshot(a);
    expect(diffSnapshots(sa, await treeSnapshot(b))).toEqual([]);

    await chmod(path.join(b, 'keep.txt'), 0o600);
    await writeFile(path.join(b, 'dir/a'), 'changed\n');
    await rm(path.join(b, 'fifo'));
    await writeFile(path.join(b, 'extra'), '');
    await runOk('setfattr', ['-n', 'user.test', '-v', 'other', path.join(b, 'data/h1')]);
    await unlink(path.join(b, 'data/h2'));
    await writeFile(path.join(b, 'data/h2'), 'linked\n');
    const d = diffSnapshots(sa, await treeSnapshot(b), { labels: ['umoci', 'copy'], ignore: ['mtime'] });
    expect(d).toEqual(
      expect.arrayContaining([
        '/keep.txt: mode umoci=0644 copy=0600',
        '/fifo: only in umoci (fifo)',
        '/extra: only in copy (file)',
      ]),
    );
    expect(d.some((l) => l.startsWith('/dir/a: sha256'))).toBe(true);
    expect(d.some((l) => l.startsWith('/dir/a: size'))).toBe(true);
    expect(d.some((l) => l.startsWith('/data/h1: xattrs') && l.includes('user.test=other'))).toBe(true);
    expect(d.some((l) => l.startsWith('/data/h2: hardlinkGroup'))).toBe(true);
    expect(d.some((l) => l.startsWith('/data/h1: nlink'))).toBe(true);
    // Ignoring fields and paths works.
    expect(diffSnapshots(sa, await treeSnapshot(b), { ignore: ['mtime', 'mode'] }).some((l) => l.includes('mode'))).toBe(false);
    expect(diffSnapshots(sa, await treeSnapshot(b), { ignorePaths: (p) => p !== '/extra' })).toEqual([
      '/extra: only in b (file)',
    ]);
  }, 60_000);

  it('treeSnapshot reads escaped names and honours exclude', async () => {
    const dir = path.join(work, 'odd');
    await mkdir(path.join(dir, 'skip/deep'), { recursive: true });
    await writeFile(path.join(dir, 'new\nline'), 'n');
    await writeFile(path.join(dir, 'back\\slash é'), 'b');
    await runOk('setfattr', ['-n', 'user.k', '-v', 'v1', path.join(dir, 'new\nline')]);
    await runOk('setfattr', ['-n', 'user.k', '-v', 'v2', path.join(dir, 'back\\slash é')]);
    await runOk('setfattr', ['-n', 'user.empty', path.join(dir, 'back\\slash é')]);
    const snap = await treeSnapshot(dir, { exclude: (p) => p === '/skip' });
    expect(snap.map((e) => e.path)).toEqual(['/', '/back\\slash é', '/new\nline']);
    expect(snap[1]!.xattrs).toEqual({ 'user.k': b64('v2'), 'user.empty': '' });
    expect(snap[2]!.xattrs).toEqual({ 'user.k': b64('v1') });
    const noX = await treeSnapshot(dir, { xattrs: false, hash: false });
    expect(noX[1]!.xattrs).toEqual({});
    expect(noX[1]!.sha256).toBeUndefined();
  }, 30_000);
});

describe('umoci whiteout behaviour (reference for lamina)', () => {
  it('repack writes per-child whiteouts for a replaced directory; raw layers carry opaque markers', async () => {
    await buildOciLayout(
      layout,
      [
        async (root) => {
          await mkdir(path.join(root, 'd/sub'), { recursive: true });
          await writeFile(path.join(root, 'd/a'), 'a');
          await writeFile(path.join(root, 'd/sub/x'), 'x');
          await mkdir(path.join(root, 'o'));
          await writeFile(path.join(root, 'o/old'), 'old');
        },
        async (root) => {
          await rm(path.join(root, 'd'), { recursive: true });
          await mkdir(path.join(root, 'd'));
          await writeFile(path.join(root, 'd/n'), 'n');
        },
        {
          entries: [
            { name: 'o/', type: 'directory', mode: 0o750 },
            { name: 'o/.wh..wh..opq' },
            { name: 'o/new', content: 'new\n' },
          ],
        },
      ],
      { tag: 'opaque' },
    );
    const img = await readOciImage(layout, 'opaque');
    expect(img.manifest.layers).toHaveLength(3);
    const second = await layerListing(img.manifest.layers[1]!.digest);
    expect(second).toEqual(expect.arrayContaining(['d/.wh.a', 'd/.wh.sub', 'd/n']));
    expect(second.some((n) => n.includes('.wh..wh..opq'))).toBe(false);
    const third = await layerListing(img.manifest.layers[2]!.digest);
    expect(third).toContain('o/.wh..wh..opq');

    const rootfs = await umociUnpack(layout, 'opaque', path.join(work, 'unpack-opaque'));
    const paths = (await treeSnapshot(rootfs)).map((e: TreeEntry) => e.path);
    expect(paths).toEqual(['/', '/d', '/d/n', '/o', '/o/new']);
    const o = (await treeSnapshot(rootfs)).find((e) => e.path === '/o')!;
    expect(o.mode).toBe(0o750);
  }, 90_000);
});

describe('archives', () => {
  it('docker-archive via skopeo has 2 uncompressed layers named by diff_id', async () => {
    const archive = path.join(work, 'two-docker.tar');
    await ociToDockerArchive(layout, 'two', archive, 'test/img:1');
    const r = await runOk('skopeo', ['inspect', `docker-archive:${archive}`]);
    const info = JSON.parse(r.stdout) as { Layers: string[]; Architecture: string };
    expect(info.Layers).toHaveLength(2);
    const img = await readOciImage(layout, 'two');
    // skopeo decompresses: the archive's layer digests are the diff_ids.
    expect(info.Layers).toEqual(img.config.rootfs.diff_ids);
    const manifest = JSON.parse((await runOk('tar', ['-xOf', archive, 'manifest.json'])).stdout);
    expect(manifest[0].RepoTags).toEqual(['docker.io/test/img:1']);
    // Config bytes are kept: same image ID.
    expect(manifest[0].Config).toBe(`${img.manifest.config.digest.slice('sha256:'.length)}.json`);
  }, 60_000);

  it('ociLayoutToTar makes an oci-archive skopeo can read', async () => {
    const tarPath = path.join(work, 'layout.tar');
    await ociLayoutToTar(layout, tarPath);
    const names = (await runOk('tar', ['-tf', tarPath])).stdout.split('\n');
    expect(names).toEqual(expect.arrayContaining(['oci-layout', 'index.json']));
    const r = await runOk('skopeo', ['inspect', `oci-archive:${tarPath}:two`]);
    expect(JSON.parse(r.stdout).Layers).toHaveLength(2);
  }, 60_000);
});

describe('busyboxRootfs', () => {
  it('builds a rootfs that runs busybox applets in a chroot, also through an image', async () => {
    const layoutB = path.join(work, 'bb-layout');
    await mkdir(layoutB); // an existing empty dir is accepted
    await buildOciLayout(layoutB, [(root) => busyboxRootfs(root)], { tag: 'bb', config: { cmd: ['/bin/sh'] } });
    const rootfs = await umociUnpack(layoutB, 'bb', path.join(work, 'bb-unpack'));
    const snap = new Map((await treeSnapshot(rootfs, { hash: false })).map((e) => [e.path, e]));
    expect(snap.get('/bin/sh')).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    expect(snap.get('/tmp')).toMatchObject({ type: 'dir', mode: 0o1777 });
    expect(snap.get('/root')).toMatchObject({ mode: 0o700 });
    expect(snap.get('/home/user')).toMatchObject({ uid: 1000, gid: 1000 });
    const r = await run('chroot', [rootfs, '/bin/sh', '-c', 'echo $((6*7)); id -un; cd /tmp && touch t && ls'], {
      timeout: 20_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('42\nroot\nt\n');
    expect(r.code).toBe(0);
    const u = await run('chroot', ['--userspec=1000:1000', rootfs, '/bin/sh', '-c', 'id -un; echo $HOME'], {
      timeout: 20_000,
      env: { HOME: '/home/user' },
    });
    expect(u.stdout).toBe('user\n/home/user\n');
  }, 90_000);
});

describe('registry', () => {
  it('serves pushes and pulls by skopeo and stops by PID', async () => {
    const reg = await startRegistry();
    try {
      expect(reg.host).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await pidAlive(reg.pid)).toBe(true);
      const res = await fetch(`${reg.url}/v2/`);
      expect(res.status).toBe(200);
      await runOk('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:two`, `docker://${reg.ref('test/img:1')}`], {
        timeout: 60_000,
      });
      const r = await runOk('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.ref('test/img:1')}`]);
      const info = JSON.parse(r.stdout) as { Layers: string[]; Digest: string; Name: string };
      const img = await readOciImage(layout, 'two');
      // A push from an OCI layout keeps the compressed layers and the manifest.
      expect(info.Layers).toEqual(img.manifest.layers.map((l) => l.digest));
      expect(info.Digest).toBe(img.manifestDigest);
      const tags = (await (await fetch(`${reg.url}/v2/test/img/tags/list`)).json()) as { tags: string[] };
      expect(tags.tags).toEqual(['1']);
    } finally {
      await reg.stop();
    }
    expect(await pidAlive(reg.pid)).toBe(false);
    await expect(fetch(`${reg.url}/v2/`)).rejects.toThrow();
  }, 90_000);

  it('with htpasswd auth, answers 401 without credentials and accepts skopeo --creds', async () => {
    const reg = await startRegistry({ auth: { username: 'alice', password: 's3cret' } });
    try {
      expect((await fetch(`${reg.url}/v2/`)).status).toBe(401);
      const basic = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
      expect((await fetch(`${reg.url}/v2/`, { headers: { Authorization: basic } })).status).toBe(200);
      const dest = `docker://${reg.ref('auth/img:1')}`;
      const denied = await run('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:two`, dest], {
        timeout: 60_000,
        env: { REGISTRY_AUTH_FILE: path.join(work, 'no-auth.json') },
      });
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toMatch(/unauthorized|authentication required/);
      await runOk('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--dest-creds=alice:s3cret', `oci:${layout}:two`, dest], {
        timeout: 60_000,
      });
      const r = await runOk('skopeo', ['inspect', '--tls-verify=false', '--creds=alice:s3cret', dest]);
      expect(JSON.parse(r.stdout).Layers).toHaveLength(2);
    } finally {
      await reg.stop();
    }
    expect(await pidAlive(reg.pid)).toBe(false);
  }, 90_000);
});
