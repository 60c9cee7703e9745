// commit and export through the real CLI: a container's writable layer becomes an image
// layer (checked through a lamina mount and through skopeo + umoci), its merged view a tar.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { link, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRootfs, diffSnapshots, treeSnapshot, umociUnpack, type TreeEntry } from '../helpers/images.js';
import { canMount, shOk, useFixture, type Fixture } from '../helpers/containers.js';
import { BIN } from '../helpers/lamina.js';
import { haveCommand, runOk } from '../helpers/proc.js';

const canBuildRun = (await Promise.all(['unshare', 'setpriv'].map(haveCommand))).every(Boolean);

/** sha256 of 1024 zero bytes: the diff_id of a layer with no entries. */
const EMPTY_LAYER = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';
const LONG = `${'long-directory-name-'.repeat(4)}/${'a-file-with-a-name-longer-than-ustar-allows-'.repeat(3)}.txt`;

async function base(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  await busyboxRootfs(r);
  for (const d of ['del/sub', 'opq/sub', 'ren/dir/g', 'meta', 'hl', 'keep']) await mkdir(p(d), { recursive: true });
  await writeFile(p('etc/a'), 'a\n');
  await writeFile(p('gone.txt'), 'gone\n');
  await writeFile(p('del/p'), 'p\n');
  await writeFile(p('del/sub/q'), 'q\n');
  await writeFile(p('opq/x'), 'x\n');
  await writeFile(p('opq/sub/y'), 'y\n');
  await writeFile(p('ren/dir/f'), 'f\n');
  await writeFile(p('ren/dir/g/h'), 'h\n');
  await writeFile(p('meta/m'), 'metacopy data\n');
  await writeFile(p('hl/a'), 'hard\n');
  await link(p('hl/a'), p('hl/b'));
  await writeFile(p('xattr'), 'x\n');
  await runOk('setfattr', ['-n', 'user.k', '-v', 'v', p('xattr')]);
  await symlink('../etc/a', p('keep/link'));
  await runOk('sh', ['-c', `head -c 1048576 /dev/urandom > ${p('big.bin')}`]);
}

async function second(r: string): Promise<void> {
  await rm(path.join(r, 'keep/link'));
  await writeFile(path.join(r, 'keep/file'), 'kept\n');
}

describe.runIf(canMount)('commit and export', () => {
  let f: Fixture;
  let n = 0;
  const newDir = () => path.join(f.work, `mnt-${++n}`);
  const inspect = async (ref: string, root = f.root) => JSON.parse(await runOkLamina(root, ['inspect', ref]))[0];
  const runOkLamina = (root: string, args: string[]) =>
    root === f.root ? f.cliOk(args) : runOk(process.execPath, [BIN, '--root', root, ...args], { env: { LAMINA_RUN_DIR: f.runDir } }).then((r) => r.stdout);
  const commit = async (args: string[]) => {
    const out = (await f.cliOk(['commit', ...args])).trim();
    expect(out).toMatch(/^sha256:[0-9a-f]{64}$/);
    return out;
  };
  const topLayer = async (ref: string) => {
    const i = await inspect(ref);
    return { diffId: i.RootFS.Layers.at(-1) as string, digest: i.LayerBlobs.at(-1).Digest as string, layers: i.RootFS.Layers.length as number };
  };
  /** Kernel attributes of re-linked files expire after 0.1 s on a writable mount. */
  const settle = () => sleep(300);
  const snapshot = (dir: string) => treeSnapshot(dir);

  useFixture('lamina-commit-', [base, second], (x) => (f = x), 900_000);

  describe('a container with every kind of change', () => {
    let mnt: string;
    let id: string;
    let image: string;
    let theirs: TreeEntry[];
    const m = (p: string) => `'${path.join(mnt, p)}'`;

    beforeAll(async () => {
      mnt = newDir();
      id = (await f.mount(f.ref, mnt)).trim();
      await shOk([
        `echo more >> ${m('etc/a')}`, `rm ${m('gone.txt')}`, `rm -r ${m('del')}`,
        `rm -r ${m('opq')}`, `mkdir ${m('opq')}`, `echo new > ${m('opq/n')}`,
        `mv ${m('ren/dir')} ${m('moved')}`, `echo f2 >> ${m('moved/f')}`,
        `chmod 600 ${m('meta/m')}`, `chown 1000:1000 ${m('meta/m')}`, `mv ${m('big.bin')} ${m('big2.bin')}`,
        `mkdir -p ${m('new/deep')}`, `echo n > ${m('new/f')}`, `ln ${m('new/f')} ${m('new/f2')}`,
        `ln -s ../etc/a ${m('new/sl')}`, `mkfifo ${m('new/fifo')}`, `mknod ${m('new/null')} c 1 3`,
        `setfattr -n user.new -v 1 ${m('xattr')}`, `setfattr -n user.bin -v 0x00ff01 ${m('new/f')}`,
        `mkdir -p ${m(path.dirname(LONG))}`, `echo long > ${m(LONG)}`, `touch -d '2001-02-03 04:05:06.123456789' ${m('new/deep')}`,
      ].join(' && '));
      // Pages written through a shared mmap stay in the kernel while the file is open and mapped
      // (FUSE writes them back on close or after ~30 s): commit must flush the mount first.
      const mapper = spawn('python3', ['-c', `import mmap,os,sys,time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644); os.ftruncate(fd, 4096)
mm = mmap.mmap(fd, 4096); mm[:6] = b'mapped'; print('ready', flush=True); time.sleep(120)`, path.join(mnt, 'new/mm')], { stdio: ['ignore', 'pipe', 'inherit'] });
      await once(mapper.stdout, 'data');
      try {
        image = await commit([id, 'lamina.test/committed:1']); // while mounted
      } finally {
        mapper.kill('SIGKILL');
        await once(mapper, 'exit');
      }
      await settle();
      theirs = await snapshot(mnt);
    }, 600_000);
    afterAll(async () => {
      await f.umount(mnt);
    }, 60_000);

    it('gives an image whose read-only mount equals the container', async () => {
      const ro = newDir();
      await f.mount('lamina.test/committed:1', ro, true);
      const ours = await snapshot(ro);
      await f.umount(ro);
      expect(diffSnapshots(theirs, ours, { labels: ['container', 'image'] })).toEqual([]);
      const at = (p: string) => ours.find((e) => e.path === p);
      for (const gone of ['/gone.txt', '/del', '/opq/x', '/opq/sub', '/ren/dir', '/big.bin']) expect(at(gone)).toBeUndefined();
      expect(at('/moved/g/h')).toMatchObject({ type: 'file' });
      expect(at('/meta/m')).toMatchObject({ mode: 0o600, uid: 1000, gid: 1000, size: 14 });
      expect(at('/new/f2')).toMatchObject({ hardlinkGroup: '/new/f', nlink: 2 });
      expect(at('/new/null')).toMatchObject({ type: 'char', rdevMajor: 1, rdevMinor: 3 });
      expect(at('/new/fifo')?.type).toBe('fifo');
      expect(at('/new/sl')?.linkname).toBe('../etc/a');
      expect(at('/xattr')?.xattrs).toEqual({ 'user.k': Buffer.from('v').toString('base64'), 'user.new': Buffer.from('1').toString('base64') });
      expect(at('/new/f')?.xattrs).toEqual({ 'user.bin': Buffer.from([0, 0xff, 1]).toString('base64') });
      expect(at('/new/mm')?.sha256).toBe(createHash('sha256').update(Buffer.concat([Buffer.from('mapped'), Buffer.alloc(4090)])).digest('hex'));
      expect(at(`/${LONG}`)?.size).toBe(5);
      expect((await topLayer(image)).layers).toBe(3);
    }, 300_000);

    it('writes the layer by the OCI changeset rules: skopeo and umoci unpack read the same tree', async () => {
      const archive = path.join(f.work, 'committed.tar');
      await f.cliOk(['save', '-o', archive, 'lamina.test/committed:1']);
      const layout = path.join(f.work, 'committed-oci');
      await runOk('skopeo', ['copy', '-q', `docker-archive:${archive}`, `oci:${layout}:t`], { timeout: 300_000 });
      const rootfs = await umociUnpack(layout, 't', path.join(f.work, 'committed-unpacked'));
      const unpacked = await snapshot(rootfs);
      // umoci makes its own rootfs directory; the mtime of a directory it extracted into changes.
      expect(diffSnapshots(theirs, unpacked, { labels: ['container', 'umoci'], ignorePaths: (p) => p === '/' })).toEqual([]);
    }, 300_000);

    it('keeps the layer tar self-contained: whiteouts, an opaque marker right after its directory, full moved contents', async () => {
      const { diffId } = await topLayer(image);
      const list = (await runOk('tar', ['-tf', path.join(f.root, 'blobs/sha256', diffId.slice(7))])).stdout.trim().split('\n');
      expect(list).toEqual(expect.arrayContaining(['.wh.gone.txt', '.wh.del', 'ren/.wh.dir', 'moved/', 'moved/g/h', 'moved/f', '.wh.big.bin', 'big2.bin']));
      expect(list[list.indexOf('opq/') + 1]).toBe('opq/.wh..wh..opq');
      expect(list).not.toContain('hl/a'); // untouched lower files stay below
      expect(list).not.toContain('bin/busybox');
      const info = await inspect(image);
      expect(info.LayerBlobs.at(-1).Stored.map((s: { MediaType: string }) => s.MediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+gzip']);
    }, 120_000);

    it('survives save and load with the same IDs, and commits identical content to identical layers', async () => {
      const archive = path.join(f.work, 'roundtrip.tar');
      await f.cliOk(['save', '-o', archive, image]);
      const store2 = path.join(f.work, 'store2');
      await runOkLamina(store2, ['load', '-i', archive]);
      const [a, b] = [await inspect(image), await inspect(image, store2)];
      expect(b.Id).toBe(a.Id);
      expect(b.RootFS.Layers).toEqual(a.RootFS.Layers);
      expect(b.LayerBlobs.map((l: { Digest: string }) => l.Digest)).toEqual(a.LayerBlobs.map((l: { Digest: string }) => l.Digest));
      const again = await commit([id]);
      expect(again).not.toBe(image); // a new config (created)
      expect(await topLayer(again)).toEqual(await topLayer(image));
    }, 300_000);

    it('exports the merged view as one tar, to a file or stdout', async () => {
      const out = path.join(f.work, 'export.tar');
      expect(await f.cliOk(['export', '-o', out, id])).toBe('');
      expect((await readdir(f.work)).filter((x) => x.includes('.tmp-'))).toEqual([]);
      const piped = path.join(f.work, 'piped.tar');
      await runOk('sh', ['-c', `"${process.execPath}" "${BIN}" --root "${f.root}" export -o - ${id} > "${piped}"`], { env: { LAMINA_RUN_DIR: f.runDir } });
      expect((await readFile(piped)).equals(await readFile(out))).toBe(true);
      const dir = path.join(f.work, 'exported');
      await mkdir(dir);
      await runOk('tar', ['-xpf', out, '-C', dir, '--numeric-owner', '--xattrs', '--xattrs-include=*']);
      const got = await snapshot(dir);
      expect(diffSnapshots(theirs, got, { labels: ['container', 'export'], ignorePaths: (p) => p === '/' })).toEqual([]);
      const names = (await runOk('tar', ['-tf', out])).stdout.trim().split('\n');
      expect(names.slice(0, 3)).toEqual(['big2.bin', 'bin/', 'bin/[']);
      expect(names.filter((x) => x.includes('.wh.'))).toEqual([]);
    }, 300_000);
  });

  it('records -m, -a and -c in the config, inspect and history', async () => {
    const id = (await f.cliOk(['create', f.ref])).trim();
    const image = await commit(['-m', 'the message', '-a', 'A. Author <a@example.com>', '-c', 'CMD ["/bin/echo","hi"]',
      '-c', 'ENV MODE=prod', '-c', 'WORKDIR /srv', '-c', 'LABEL team=core', '-c', 'EXPOSE 8080', '-c', 'USER 1000', id, 'lamina.test/meta:1']);
    const i = await inspect('lamina.test/meta:1');
    expect(i.Id).toBe(image);
    expect(i).toMatchObject({ Comment: 'the message', Author: 'A. Author <a@example.com>' });
    expect(i.Config).toMatchObject({ Cmd: ['/bin/echo', 'hi'], WorkingDir: '/srv', Labels: { team: 'core' }, ExposedPorts: { '8080/tcp': {} }, User: '1000' });
    expect(i.Config.Env).toContain('MODE=prod');
    const history = await f.cliOk(['history', '--no-trunc', 'lamina.test/meta:1']);
    expect(history.split('\n')[1]).toMatch(new RegExp(`^${image} +.* ago +CMD \\["/bin/echo","hi"\\]; ENV MODE=prod; .* +1.02kB +the message$`));
    const bad = await f.cli(['commit', '-c', 'RUN true', id]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/RUN is not a valid change command/);
    await f.cliOk(['rm', id]);
  }, 120_000);

  it('records -c ONBUILD triggers in OnBuild, and a build FROM the image runs them after FROM', async () => {
    const id = (await f.cliOk(['create', f.ref])).trim();
    await commit(['-c', 'ONBUILD RUN echo triggered > /triggered', '-c', 'onbuild label from=trigger', id, 'lamina.test/onbuild:1']);
    expect((await inspect('lamina.test/onbuild:1')).Config.OnBuild).toEqual(['RUN echo triggered > /triggered', 'LABEL from=trigger']);
    await f.cliOk(['rm', id]);
    if (!canBuildRun) return;
    const ctx = path.join(f.work, 'onbuild-ctx');
    await mkdir(ctx);
    await writeFile(path.join(ctx, 'Dockerfile'), 'FROM lamina.test/onbuild:1\nRUN cat /triggered\n');
    const out = await f.cliOk(['build', '-t', 'lamina.test/onbuild-child:1', ctx], 300_000);
    expect(out).toMatch(/# Executing 2 build triggers\n[\s\S]*Step 2\/2 : RUN cat \/triggered\n[\s\S]*\ntriggered\n/);
    const child = await inspect('lamina.test/onbuild-child:1');
    expect(child.Config.OnBuild ?? null).toBeNull();
    expect(child.Config.Labels).toMatchObject({ from: 'trigger' });
  }, 300_000);

  it.each([
    ['RUN echo hi', 'RUN'], ['FROM busybox', 'FROM'], ['COPY a /b', 'COPY'],
    ['ONBUILD FROM busybox', "FROM isn't allowed as an ONBUILD trigger"],
  ])('refuses -c %s with one error line, and commits nothing', async (change, named) => {
    const id = (await f.cliOk(['create', f.ref])).trim();
    const images = () => f.cliOk(['images', '-a', '-q', '--no-trunc']);
    const blobs = () => readdir(path.join(f.root, 'blobs/sha256'));
    const [imagesBefore, blobsBefore] = [await images(), await blobs()];
    const r = await f.cli(['commit', '-c', 'ENV OK=1', '-c', change, id, 'lamina.test/refused:1']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`change ${JSON.stringify(change)}: ${named}`);
    expect(await images()).toBe(imagesBefore);
    expect(await blobs()).toEqual(blobsBefore);
    expect((await f.cli(['inspect', 'lamina.test/refused:1'])).code).not.toBe(0);
    await f.cliOk(['rm', id]);
  }, 120_000);

  it('commits an unchanged container (mounted or never) to an empty layer', async () => {
    const fresh = (await f.cliOk(['create', f.ref])).trim();
    const dir = newDir();
    const used = (await f.mount(f.ref, dir)).trim();
    await shOk(`cat ${dir}/etc/a > /dev/null && ls ${dir} > /dev/null`);
    await f.umount(dir);
    for (const c of [fresh, used]) {
      const top = await topLayer(await commit([c]));
      expect(top.diffId).toBe(EMPTY_LAYER);
    }
    await f.cliOk(['rm', fresh, used]);
  }, 120_000);

  it('gives the same layer digest for the same changes made in two containers', async () => {
    const tops = [];
    for (const name of ['twin-a', 'twin-b']) {
      const dir = newDir();
      await f.cliOk(['create', '--name', name, f.ref]);
      await f.mount(name, dir);
      await shOk(`cd ${dir} && mkdir -p x/y && echo same > x/y/f && rm gone.txt && chmod 700 meta && touch -h -d @1000000000 x/y/f x/y x meta .`);
      await f.umount(dir);
      tops.push(await topLayer(await commit([name])));
    }
    expect(tops[1]).toEqual(tops[0]);
    expect(tops[0]!.diffId).not.toBe(EMPTY_LAYER);
    await f.cliOk(['rm', 'twin-a', 'twin-b']);
  }, 120_000);
});
