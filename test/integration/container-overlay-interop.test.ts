// The writable layer is a real overlayfs upperdir: after changes made through a lamina
// container mount, kernel overlayfs (redirect_dir=on, metacopy=on) mounting the same upper
// dir over the image's layers (extracted, whiteouts converted) shows the same tree.
import { link, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRootfs, diffSnapshots, treeSnapshot, type TreeEntry } from '../helpers/images.js';
import { canMount, fixture, mountsUnder, releaseFixture, shOk, type Fixture } from '../helpers/containers.js';
import { run, runOk } from '../helpers/proc.js';

const hasOverlay = (await run('grep', ['-qw', 'overlay', '/proc/filesystems'])).code === 0;

async function base(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  await busyboxRootfs(r);
  for (const d of ['d1', 'd2/sub', 'hl', 'ren/dir/g', 'meta', 'del']) await mkdir(p(d), { recursive: true });
  await writeFile(p('etc/a'), 'a\n');
  await writeFile(p('d1/x'), 'x\n');
  await writeFile(p('d1/y'), 'y\n');
  await writeFile(p('d2/sub/z'), 'z\n');
  await runOk('sh', ['-c', `head -c 1048576 /dev/urandom > ${p('big.bin')}`]);
  await writeFile(p('hl/a'), 'hard\n');
  await link(p('hl/a'), p('hl/b'));
  await writeFile(p('xattr'), 'x\n');
  await runOk('setfattr', ['-n', 'user.k', '-v', 'v', p('xattr')]);
  await writeFile(p('ren/dir/f'), 'f\n');
  await writeFile(p('ren/dir/g/h'), 'h\n');
  await writeFile(p('meta/m'), 'metacopy data\n');
  await writeFile(p('del/p'), 'p\n');
  await writeFile(p('del/q'), 'q\n');
  await symlink('../etc/a', p('d1/link'));
}

async function second(r: string): Promise<void> {
  await rm(path.join(r, 'del/q'));
  await writeFile(path.join(r, 'etc/a'), 'a2\n');
}

/** Layer 3 (raw): d2 replaced wholesale (an opaque marker) with one new file. */
const opaqueLayer = { entries: [{ name: 'd2/', type: 'directory' as const }, { name: 'd2/.wh..wh..opq' }, { name: 'd2/new', content: 'new\n' }] };

/** Extracts a layer tar into `dir`, turning OCI whiteouts into overlayfs ones. */
async function extractLayer(tarFile: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await runOk('tar', ['-xf', tarFile, '-C', dir, '--numeric-owner', '--xattrs', "--xattrs-include=*"]);
  await runOk('sh', ['-c', `cd "$1" && find . -name '.wh.*' | while read -r w; do d=$(dirname "$w"); b=$(basename "$w");
    if [ "$b" = .wh..wh..opq ]; then setfattr -n trusted.overlay.opaque -v y "$d"; rm "$w";
    else rm "$w"; mknod "$d/\${b#.wh.}" c 0 0; fi; done`, 'sh', dir]);
}

describe.runIf(canMount && hasOverlay)('kernel overlayfs reads a lamina writable layer', () => {
  let f: Fixture;
  let mnt: string;
  let ovl: string;
  let id: string;
  const m = (p: string) => `'${path.join(mnt, p)}'`;
  const snapshot = (dir: string) => treeSnapshot(dir, { xattrFilter: (n) => !n.startsWith('trusted.lamina.') });

  beforeAll(async () => {
    f = await fixture('lamina-container-ovl-', [base, second, opaqueLayer]);
    mnt = path.join(f.work, 'mnt');
    ovl = path.join(f.work, 'ovl');
    await mkdir(ovl);
  }, 900_000);
  afterAll(async () => {
    if (f && (await mountsUnder(ovl)).length) await run('umount', ['-l', ovl]);
    await releaseFixture(f);
  }, 60_000);

  it('shows the same tree through lamina and through mount -t overlay', async () => {
    id = (await f.mount(f.ref, mnt)).trim();
    await shOk([
      `echo more >> ${m('etc/a')}`, `chmod 600 ${m('meta/m')}`, `chown 1000:1000 ${m('meta/m')}`, `rm ${m('d1/x')}`, `rm -rf ${m('del')}`,
      `mv ${m('ren/dir')} ${m('moved')}`, `echo f2 >> ${m('moved/f')}`, `mv ${m('big.bin')} ${m('big2.bin')}`, `mkdir ${m('newdir')}`,
      `echo n > ${m('newdir/f')}`, `ln ${m('newdir/f')} ${m('newdir/f2')}`, `ln -s ../etc/a ${m('newdir/sl')}`, `mkfifo ${m('newdir/fifo')}`,
      `rm -rf ${m('d2')}`, `mkdir ${m('d2')}`, `touch ${m('d2/again')}`, `setfattr -n user.new -v 1 ${m('xattr')}`, `ln ${m('hl/a')} ${m('hl/c')}`,
      `mv ${m('d1/y')} ${m('d1/x')}`, `mkdir -p ${m('d1/deep/er')}`, `touch -h -d @1234567890 ${m('d1/link')}`,
    ].join(' && '));
    await sleep(300); // hl/a's copy-up changed its ino; the kernel's attrs expire after 0.1 s
    const ours = await snapshot(mnt);
    await f.umount(mnt);

    const layers = JSON.parse(await f.cliOk(['inspect', f.ref]))[0].RootFS.Layers as string[];
    const lowers: string[] = [];
    for (const [i, diffId] of layers.entries()) {
      const dir = path.join(f.work, `lower${i}`);
      await extractLayer(path.join(f.root, 'blobs/sha256', diffId.slice(7)), dir);
      lowers.unshift(dir); // overlayfs lists the top layer first
    }
    const c = path.join(f.root, 'containers', id);
    const opts = `lowerdir=${lowers.join(':')},upperdir=${c}/upper,workdir=${c}/work,redirect_dir=on,metacopy=on`;
    await runOk('mount', ['-t', 'overlay', 'overlay', '-o', opts, ovl]);
    let theirs: TreeEntry[];
    try {
      theirs = await snapshot(ovl);
    } finally {
      await runOk('umount', [ovl]);
    }
    expect(diffSnapshots(ours, theirs, { labels: ['lamina', 'overlayfs'] })).toEqual([]);
    expect(ours.find((e) => e.path === '/moved/g/h')).toBeDefined();
    expect(ours.find((e) => e.path === '/d2/sub')).toBeUndefined();
    expect(ours.find((e) => e.path === '/meta/m')).toMatchObject({ mode: 0o600, uid: 1000, size: 14 });
  }, 300_000);

  it('mounts again with lamina after overlayfs touched the upper dir', async () => {
    await f.mount(id, mnt);
    expect(await shOk(`cat ${m('etc/a')} ${m('moved/f')} ${m('d1/x')}; ls ${m('d2')}`)).toBe('a2\nmore\nf\nf2\ny\nagain\n');
    await f.umount(mnt);
    expect(await readdir(path.join(f.root, 'containers', id, 'work', 'lamina'))).toEqual([]);
  }, 120_000);
});
