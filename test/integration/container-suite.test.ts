// Union semantics against the reference: one script doing what programs do (creates,
// appends, pwrite, truncate, renames of files and lower directories, removals, rm -rf,
// opaque re-creation, hard and symbolic links, fifos, xattrs, attributes, mmap) runs in a
// child process on (a) a lamina container mount and (b) kernel overlayfs
// (redirect_dir=on, metacopy=on, index=on) over the same layers extracted from the store. The two
// resulting trees must be equal. Then (c) kernel overlayfs mounts lamina's upper dir: the
// same tree again. `lamina diff` must list exactly what the script changed.
import { existsSync } from 'node:fs';
import { chmod, link, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRootfs, diffSnapshots, treeSnapshot, type TreeEntry } from '../helpers/images.js';
import { canMount, fixture, mountsUnder, releaseFixture, shOk, type Fixture } from '../helpers/containers.js';
import { run, runOk } from '../helpers/proc.js';

const hasOverlay = (await run('grep', ['-qw', 'overlay', '/proc/filesystems'])).code === 0;
const MiB = 1 << 20;
const BIG = 100 * MiB;
const MID = 50 * MiB + 12345; // the byte the script overwrites in /big/random.bin
const T_LOWER = new Date(1_500_000_000_000);

async function base(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  await busyboxRootfs(r);
  const dirs = ['data', 'ren/over', 'mv/dir/b', 'mv/dir2/deep', 'mv/dir3', 'mv/empty', 'mv/empty2', 'mv/back/in', 'mv/outer/inner',
    'mv/gone/sub', 'mv/reuse', 'del/emptydir', 'del/sub', 'del/emptied', 'opq/sub', 'opq2', 'hl', 'x', 'attr/d', 'big', 'mm', 'tail', 'wh'];
  for (const d of dirs) await mkdir(p(d), { recursive: true });
  const files: Record<string, string> = {
    'data/a.txt': 'alpha\n', 'data/app.log': 'line1\n', 'data/pw.bin': '0123456789', 'data/trunc.txt': '0123456789\n',
    'data/grow.txt': 'grow\n', 'data/ftrunc.txt': 'ftruncate me\n', 'data/otrunc.txt': 'O_TRUNC me\n', 'data/gone': 'bye\n',
    'data/keep.txt': 'layer1\n', 'data/rmme': 'remove me\n',
    'ren/file1': 'one\n', 'ren/file2': 'two\n', 'ren/file3': 'three\n', 'ren/target': 'lower target\n', 'ren/moveme': 'move me\n',
    'ren/meta': 'metacopy then rename\n', 'ren/over/x': 'in over\n',
    'mv/dir/a': 'a\n', 'mv/dir/b/c': 'c\n', 'mv/dir2/deep/d': 'd\n', 'mv/dir3/e': 'e\n',
    'del/file': 'del\n', 'del/sub/s': 's\n', 'opq/a': 'a\n', 'opq/sub/b': 'b\n', 'opq2/old': 'old\n',
    'hl/a': 'pair\n', 'hl/single': 'single\n', 'x/file': 'xattrs\n', 'x/file2': 'xattrs 2\n',
    'attr/f1': 'f1\n', 'attr/f2': 'f2\n', 'attr/f3': 'f3\n', 'attr/suid': 'suid\n', 'attr/meta-write': 'chmod then write\n',
    'mm/file': 'mapped lower file contents\n', 'tail/log': 'first\n', 'mv/back/in/f': 'back\n', 'mv/outer/inner/i': 'i\n',
    'mv/gone/sub/g': 'g\n', 'mv/reuse/r': 'r\n', 'del/emptied/e1': 'e1\n', 'del/emptied/e2': 'e2\n', 'hl/orig': 'orig\n',
    'wh/file-then-dir': 'f\n', 'wh/file-then-link': 'f\n', 'wh/rename-onto': 'f\n', 'ren/lower-over-upper': 'lower\n',
  };
  for (const [f, c] of Object.entries(files)) await writeFile(p(f), c);
  await link(p('hl/a'), p('hl/b'));
  await symlink('a.txt', p('data/link'));
  await symlink('f1', p('attr/sl'));
  await runOk('setfattr', ['-n', 'user.comment', '-v', 'lower', p('x/file')]);
  await runOk('setfattr', ['-n', 'user.k', '-v', 'v', p('x/file2')]);
  await runOk('chown', ['-R', '1000:1000', p('attr')]);
  await chmod(p('attr/suid'), 0o755);
  await mkdir(p('tree'));
  for (let d = 0; d < 10; d++) {
    await mkdir(p(`tree/d${d}`));
    for (let i = 0; i < 10; i++) await writeFile(p(`tree/d${d}/f${i}`), `${d}/${i}\n`);
  }
  await runOk('sh', ['-c', `head -c ${BIG} /dev/urandom > '${p('big/random.bin')}'`]);
  for (const f of ['data/a.txt', 'data', 'attr/f1', 'attr/f2', 'attr/f3', 'mv/dir', 'tree', 'x/file']) await utimes(p(f), T_LOWER, T_LOWER);
}

async function second(r: string): Promise<void> {
  await writeFile(path.join(r, 'data/keep.txt'), 'layer2\n');
  await writeFile(path.join(r, 'data/l2'), 'from layer 2\n');
  await rm(path.join(r, 'data/gone'));
  await utimes(path.join(r, 'data'), T_LOWER, T_LOWER);
}

/** Layer 3 (raw): opq2 replaced wholesale by an opaque marker and one new file. */
const opaqueLayer = { entries: [{ name: 'opq2/', type: 'directory' as const }, { name: 'opq2/.wh..wh..opq' }, { name: 'opq2/new', content: 'new\n' }] };

/**
 * The workload: Python (system interpreter, so uid 1000 can run it too), cwd = the mount
 * root. It prints what programs observe along the way; stdout must match as well.
 */
const SCRIPT = String.raw`
import mmap, os, shutil, subprocess, sys, time
os.chdir(sys.argv[1])
def out(*a): print(*a, flush=True)
def put(p, data, mode=0o644):
    with open(p, 'wb') as f: f.write(data)
def get(p):
    with open(p, 'rb') as f: return f.read()

# create and write
os.mkdir('newdir')
put('newdir/f', b'new file\n')
put('data/new.txt', b'0123456789abcdef\n')
os.makedirs('newdir/a/b/c')
put('newdir/a/b/c/deep', b'deep\n')
put('data/sub-in-lower-dir', b'x\n')

# O_APPEND: a lower file (copy-up), then again; an upper file
for p in ['data/app.log', 'data/app.log', 'newdir/f']:
    fd = os.open(p, os.O_WRONLY | os.O_APPEND)
    os.write(fd, b'appended\n')
    os.close(fd)
out('append', get('data/app.log'))

# pwrite at offsets: inside a lower file, past its end (a hole), into a new sparse file
fd = os.open('data/pw.bin', os.O_RDWR)
os.pwrite(fd, b'XY', 3)
os.pwrite(fd, b'Z', 20)
out('pwrite', os.pread(fd, 64, 0))
os.close(fd)
fd = os.open('newdir/sparse', os.O_WRONLY | os.O_CREAT, 0o600)
os.pwrite(fd, b'end', 3 * 1024 * 1024)
os.close(fd)

# truncate / ftruncate: lower shorter, lower longer, lower via an fd, upper via an fd, O_TRUNC
os.truncate('data/trunc.txt', 4)
os.truncate('data/grow.txt', 5000)
fd = os.open('data/ftrunc.txt', os.O_RDWR)
os.ftruncate(fd, 9)
os.close(fd)
fd = os.open('data/new.txt', os.O_RDWR)
os.ftruncate(fd, 10)
os.close(fd)
fd = os.open('data/otrunc.txt', os.O_WRONLY | os.O_TRUNC)
os.write(fd, b'replaced\n')
os.close(fd)

# renames of files: lower to a new name, lower over lower, upper over lower, upper over upper,
# lower into another dir, a metacopy file, then renamed again
os.rename('ren/file1', 'ren/renamed1')
os.rename('ren/file2', 'ren/file3')
put('ren/up', b'upper\n')
os.rename('ren/up', 'ren/target')
put('ren/u1', b'u1\n')
put('ren/u2', b'u2\n')
os.rename('ren/u1', 'ren/u2')
os.rename('ren/moveme', 'data/moved-in')
os.chmod('ren/meta', 0o600)
os.rename('ren/meta', 'ren/meta2')
os.rename('ren/meta2', 'newdir/meta3')
out('renamed', get('ren/renamed1'), get('ren/file3'), get('ren/target'), get('newdir/meta3'), sorted(os.listdir('ren')))

# renames of lower directories: to a new name, twice across parents, over an empty lower dir
os.rename('mv/dir', 'mv/dir-renamed')
put('mv/dir-renamed/b/c2', b'c2\n')
os.rename('mv/dir2', 'moved2')
os.rename('moved2', 'data/moved2')
with open('data/moved2/deep/d', 'ab') as f: f.write(b'd2\n')
os.rename('mv/dir3', 'mv/empty')
out('dirs', sorted(os.listdir('mv')), sorted(os.listdir('mv/dir-renamed')), get('mv/empty/e'), get('data/moved2/deep/d'))

# more directory renames: a lower dir moved back to its own name, a lower dir moved into another
# lower dir that is then moved itself, an upper dir over an empty lower dir (opaque), a moved dir
# removed with rm -rf, a new dir where a lower dir was moved away
os.rename('mv/back', 'mv/back2')
os.rename('mv/back2', 'mv/back')
os.rename('mv/outer/inner', 'mv/dir-renamed/inner')
os.rename('mv/dir-renamed', 'mv/outer/carried')
os.makedirs('newdir2/x')
put('newdir2/x/y', b'y\n')
os.rename('newdir2', 'mv/empty2')
os.rename('mv/gone', 'mv/gone2')
subprocess.run(['rm', '-rf', 'mv/gone2'], check=True)
os.rename('mv/reuse', 'data/reused')
os.mkdir('mv/reuse')
put('mv/reuse/new', b'new\n')
out('dirs2', sorted(os.listdir('mv')), sorted(os.listdir('mv/outer/carried')), get('mv/outer/carried/inner/i'), get('mv/back/in/f'))

# whiteouts replaced: a dir, a symlink and a renamed file where lower files were removed
os.unlink('wh/file-then-dir')
os.mkdir('wh/file-then-dir')
os.unlink('wh/file-then-link')
os.symlink('elsewhere', 'wh/file-then-link')
os.unlink('wh/rename-onto')
put('wh/src', b'renamed onto a whiteout\n')
os.rename('wh/src', 'wh/rename-onto')
put('ren/upper-file', b'upper file\n')
os.rename('ren/lower-over-upper', 'ren/upper-file')

# unlink / rmdir of lower entries
os.unlink('del/file')
os.rmdir('del/emptydir')
os.unlink('data/link')
os.unlink('data/rmme')
put('data/rmme', b'created again\n')
os.unlink('del/emptied/e1')
os.unlink('del/emptied/e2')
os.rmdir('del/emptied')

# rm -rf of a lower tree
subprocess.run(['rm', '-rf', 'tree', 'del/sub'], check=True)

# rmdir + mkdir: the new directory is opaque (a lower tree, and a layer-opaque dir)
shutil.rmtree('opq')
os.mkdir('opq')
put('opq/only', b'only\n')
shutil.rmtree('opq2')
os.mkdir('opq2', 0o750)
out('opaque', sorted(os.listdir('opq')), sorted(os.listdir('opq2')))

# hard links: to a lower file, to a lower file that has two links, to an upper file
os.link('data/a.txt', 'data/a-link')
os.link('hl/a', 'hl/c')
os.link('newdir/f', 'newdir/f-link')
with open('data/a-link', 'ab') as f: f.write(b'via link\n')
os.link('hl/orig', 'hl/orig-link')
os.unlink('hl/orig')
os.truncate('hl/orig-link', 2)

# symlinks and a fifo
os.symlink('../data/a.txt', 'newdir/sl')
os.symlink('dangling/target', 'newdir/dangling')
os.mkfifo('newdir/fifo', 0o640)
os.mkfifo('data/fifo')

# user xattrs: set on lower and upper files, remove a lower one, replace one, on a dir
os.setxattr('x/file', 'user.new', b'1')
os.setxattr('x/file', 'user.comment', b'changed')
os.removexattr('x/file2', 'user.k')
os.setxattr('newdir/f', 'user.p', b'2')
os.setxattr('data', 'user.dir', b'd')
out('xattrs', sorted(os.listxattr('x/file')), os.getxattr('x/file', 'user.comment'), os.listxattr('x/file2'))

# chmod / chown / utimes: lower files, a lower dir, a symlink, setuid then chown, then a write
os.chmod('attr/f1', 0o600)
os.chown('attr/f2', 1, 2)
os.utime('attr/f3', (1234567890, 1234567890))
os.chmod('attr/d', 0o700)
os.chown('attr/d', 1, 2)
os.lchown('attr/sl', 3, 4)
os.utime('attr/sl', (1111111111, 1111111111), follow_symlinks=False)
os.chmod('attr/suid', 0o4755)
os.chown('attr/suid', 5, 5)
os.chmod('attr/meta-write', 0o640)
with open('attr/meta-write', 'ab') as f: f.write(b'written\n')
os.utime('newdir/f', (1300000000, 1300000000))
os.chmod('newdir', 0o751)
os.chmod('attr/d', 0o2775)
put('attr/d/in-setgid', b'x\n')

# mmap: read a lower file; write through a shared mapping of an upper file
with open('mm/file', 'rb') as f:
    m = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ)
    out('mmap', m[:26])
    m.close()
put('mm/rw', b'hello mmap world')
with open('mm/rw', 'r+b') as f:
    m = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    m[0:5] = b'HELLO'
    m.flush()
    m.close()

# a reader opened before another process appends to a lower file sees the new bytes
r = os.open('tail/log', os.O_RDONLY)
out('tail', os.read(r, 100))
subprocess.run(['sh', '-c', 'echo second >> tail/log'], check=True)
out('tail', os.read(r, 100))
os.close(r)

# one byte in the middle of a 100 MiB lower file (data copy-up)
fd = os.open('big/random.bin', os.O_WRONLY)
os.pwrite(fd, b'X', int(sys.argv[2]))
os.close(fd)

# a user's files (fsuid 1000) in /tmp
subprocess.run(['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups', 'sh', '-c',
                'echo u > tmp/u && mkdir tmp/ud && ln -s u tmp/us && mkfifo tmp/uf'], check=True)

time.sleep(0.3)  # lamina: another hard link's attributes refresh after attr_timeout (0.1 s)
for p in ['data/a.txt', 'data/a-link', 'hl/a', 'hl/b', 'hl/c', 'newdir/f']:
    st = os.lstat(p)
    out('stat', p, oct(st.st_mode), st.st_nlink, st.st_size)
out('done')
`;

/** Extracts a layer tar into `dir`, turning OCI whiteouts into overlayfs ones (parent mtimes kept). */
async function extractLayer(tarFile: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await runOk('tar', ['-xpf', tarFile, '-C', dir, '--numeric-owner', '--xattrs', '--xattrs-include=*'], { timeout: 300_000 });
  await runOk('sh', ['-c', `cd "$1" && find . -name '.wh.*' | while read -r w; do d=$(dirname "$w"); b=$(basename "$w");
    touch -r "$d" "$2"; rm "$w";
    if [ "$b" = .wh..wh..opq ]; then setfattr -n trusted.overlay.opaque -v y "$d"; else mknod "$d/\${b#.wh.}" c 0 0; fi;
    touch -r "$2" "$d"; done`, 'sh', dir, `${dir}.ref`]);
  await rm(`${dir}.ref`, { force: true });
}

/** Differences in mtime that matter: an entry the script did not touch (old time on either side) must keep it exactly. */
function mtimeDiffs(a: TreeEntry[], b: TreeEntry[], since: [number, number], labels: [string, string]): string[] {
  const mb = new Map(b.map((e) => [e.path, e]));
  const out: string[] = [];
  for (const ea of a) {
    const eb = mb.get(ea.path);
    if (!eb) continue;
    const newA = ea.mtime >= since[0];
    const newB = eb.mtime >= since[1];
    if (newA && newB) continue;
    if (ea.mtime !== eb.mtime) out.push(`${ea.path}: mtime ${labels[0]}=${ea.mtime} ${labels[1]}=${eb.mtime}`);
  }
  return out;
}

describe.runIf(canMount && hasOverlay)('container union semantics: lamina against kernel overlayfs', () => {
  let f: Fixture;
  let lowers: string[];
  let id: string;
  let wantBig: string;
  const res: Record<'lamina' | 'overlayfs' | 'upper', { out: string; tree: TreeEntry[]; t0: number }> = {} as never;
  const ovlMounts: string[] = [];
  const snapshot = (dir: string) => treeSnapshot(dir, { xattrFilter: (n) => !n.startsWith('trusted.lamina.') });
  const script = () => path.join(f.work, 'workload.py');
  const runScript = async (root: string) => {
    const r = await runOk('/usr/bin/python3', [script(), root, String(MID)], { timeout: 300_000 });
    return r.stdout;
  };
  // index=on: overlayfs then keeps a lower hard-link group one file after copy-up, as lamina always does
  const mountOverlay = async (dir: string, upper: string, work: string, ro = false) => {
    await mkdir(dir, { recursive: true });
    const opts = `${ro ? 'ro,' : 'index=on,'}lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work},redirect_dir=on,metacopy=on`;
    await runOk('mount', ['-t', 'overlay', 'overlay', '-o', opts, dir]);
    ovlMounts.push(dir);
  };
  const umountOverlay = async (dir: string) => {
    const r = await run('umount', [dir]);
    if (r.code !== 0) await run('umount', ['-l', dir]);
    ovlMounts.splice(ovlMounts.indexOf(dir), 1);
  };

  beforeAll(async () => {
    f = await fixture('lamina-container-suite-', [base, second, opaqueLayer]);
    await writeFile(script(), SCRIPT);
    const layers = JSON.parse(await f.cliOk(['inspect', f.ref]))[0].RootFS.Layers as string[];
    lowers = [];
    for (const [i, diffId] of layers.entries()) {
      const dir = path.join(f.work, `lower${i}`);
      await extractLayer(path.join(f.root, 'blobs/sha256', diffId.slice(7)), dir);
      lowers.unshift(dir); // overlayfs lists the top layer first
    }
    const src = path.join(lowers[lowers.length - 1]!, 'big/random.bin');
    wantBig = (await shOk(`{ head -c ${MID} '${src}'; printf X; tail -c +${MID + 2} '${src}'; } | sha256sum`)).split(' ')[0]!;
  }, 900_000);

  afterEach(async () => {
    const left = await mountsUnder(f.work); // each test unmounts what it mounted, in a finally
    for (const d of [...ovlMounts]) await umountOverlay(d);
    expect(await f.unmountAll()).toBe(true);
    expect(left).toEqual([]);
  }, 120_000);
  afterAll(async () => {
    await releaseFixture(f);
    if (f) expect(existsSync(f.work)).toBe(false);
  }, 120_000);

  it('runs the workload on a lamina container mount', async () => {
    const mnt = path.join(f.work, 'mnt');
    id = (await f.mount(f.ref, mnt)).trim();
    try {
      const t0 = Math.floor(Date.now() / 1000);
      const out = await runScript(mnt);
      res.lamina = { out, tree: await snapshot(mnt), t0 };
    } finally {
      await f.umount(mnt);
    }
    expect(res.lamina.out).toMatch(/done\n$/);
  }, 600_000);

  it('runs the same workload on kernel overlayfs over the same layers', async () => {
    const mnt = path.join(f.work, 'ovl');
    const upper = path.join(f.work, 'ovl-upper');
    const work = path.join(f.work, 'ovl-work');
    await mkdir(upper);
    await mkdir(work);
    // like lamina's fresh upper root, which takes the image root's owner, mode and mtime
    await runOk('sh', ['-c', 'chown --reference="$1" "$2" && chmod --reference="$1" "$2" && touch -r "$1" "$2"', 'sh', lowers[0]!, upper]);
    await mountOverlay(mnt, upper, work);
    try {
      const t0 = Math.floor(Date.now() / 1000);
      const out = await runScript(mnt);
      res.overlayfs = { out, tree: await snapshot(mnt), t0 };
    } finally {
      await umountOverlay(mnt);
    }
    expect(res.overlayfs.out).toMatch(/done\n$/);
  }, 600_000);

  it('gives the same output and the same tree on both', () => {
    const labels: [string, string] = ['lamina', 'overlayfs'];
    expect(res.lamina.out).toBe(res.overlayfs.out);
    expect(diffSnapshots(res.lamina.tree, res.overlayfs.tree, { labels, ignore: ['mtime'] })).toEqual([]);
    expect(mtimeDiffs(res.lamina.tree, res.overlayfs.tree, [res.lamina.t0, res.overlayfs.t0], labels)).toEqual([]);
    const byPath = new Map(res.lamina.tree.map((e) => [e.path, e]));
    expect(byPath.get('/mv/outer/carried/b/c2')).toBeDefined();
    expect(byPath.get('/tree')).toBeUndefined();
    expect(byPath.get('/opq/a')).toBeUndefined();
    expect(byPath.get('/data/gone')).toBeUndefined();
    expect(byPath.get('/tmp/u')).toMatchObject({ uid: 1000, gid: 1000 });
    expect(byPath.get('/wh/file-then-dir')).toMatchObject({ type: 'dir' });
    expect(byPath.get('/hl/c')).toMatchObject({ nlink: 3, hardlinkGroup: '/hl/a' }); // the lower pair and the new link: one file
    expect(byPath.get('/attr/suid')).toMatchObject({ mode: 0o755, uid: 5 }); // chown clears setuid
    expect(byPath.get('/x/file')!.xattrs).toEqual({ 'user.comment': 'Y2hhbmdlZA==', 'user.new': 'MQ==' });
    expect(res.lamina.tree.length).toBeGreaterThan(150);
    // the mtime rule is not vacuous: set times, and untouched lower entries, compare exactly
    expect([byPath.get('/attr/f3')!.mtime, byPath.get('/attr/sl')!.mtime, byPath.get('/newdir/f')!.mtime]).toEqual([1234567890, 1111111111, 1300000000]);
    expect(res.lamina.tree.filter((e) => e.mtime < res.lamina.t0).length).toBeGreaterThan(80);
  });

  it('keeps every other byte of a 100 MiB lower file after a 1-byte write in its middle', () => {
    for (const r of [res.lamina, res.overlayfs]) {
      expect(r.tree.find((e) => e.path === '/big/random.bin')).toMatchObject({ size: BIG, sha256: wantBig });
    }
  });

  it("shows the same tree when kernel overlayfs mounts lamina's upper dir", async () => {
    const mnt = path.join(f.work, 'ovl-lamina');
    const c = path.join(f.root, 'containers', id);
    await mountOverlay(mnt, `${c}/upper`, `${c}/work`, true);
    try {
      res.upper = { out: '', tree: await snapshot(mnt), t0: 0 };
    } finally {
      await umountOverlay(mnt);
    }
    expect(diffSnapshots(res.lamina.tree, res.upper.tree, { labels: ['lamina', 'overlayfs on lamina upper'] })).toEqual([]);
  }, 300_000);

  it('lists the changes the workload made in lamina diff', async () => {
    // docker diff's rules: C for a path the image has and the upper layer changes (copied-up
    // parents too), A for a new path (a moved directory shows all it holds as new), D for a
    // removed path (only the top of a removed tree; the children a new opaque dir hides).
    const want = `
      C /attr; C /attr/d; A /attr/d/in-setgid; C /attr/f1; C /attr/f2; C /attr/f3; C /attr/meta-write; C /attr/sl; C /attr/suid;
      C /big; C /big/random.bin;
      C /data; A /data/a-link; C /data/a.txt; C /data/app.log; A /data/fifo; C /data/ftrunc.txt; C /data/grow.txt; D /data/link;
      A /data/moved-in; A /data/moved2; A /data/moved2/deep; A /data/moved2/deep/d; A /data/new.txt; C /data/otrunc.txt;
      C /data/pw.bin; A /data/reused; A /data/reused/r; C /data/rmme; A /data/sub-in-lower-dir; C /data/trunc.txt;
      C /del; D /del/emptied; D /del/emptydir; D /del/file; D /del/sub;
      C /hl; C /hl/a; C /hl/b; A /hl/c; D /hl/orig; A /hl/orig-link;
      C /mm; A /mm/rw;
      C /mv; C /mv/back; D /mv/dir; D /mv/dir2; D /mv/dir3; C /mv/empty; A /mv/empty/e; C /mv/empty2; A /mv/empty2/x;
      A /mv/empty2/x/y; D /mv/gone; C /mv/outer; A /mv/outer/carried; A /mv/outer/carried/a; A /mv/outer/carried/b;
      A /mv/outer/carried/b/c; A /mv/outer/carried/b/c2; A /mv/outer/carried/inner; A /mv/outer/carried/inner/i;
      D /mv/outer/inner; C /mv/reuse; A /mv/reuse/new; D /mv/reuse/r;
      A /newdir; A /newdir/a; A /newdir/a/b; A /newdir/a/b/c; A /newdir/a/b/c/deep; A /newdir/dangling; A /newdir/f;
      A /newdir/f-link; A /newdir/fifo; A /newdir/meta3; A /newdir/sl; A /newdir/sparse;
      C /opq; D /opq/a; A /opq/only; D /opq/sub; C /opq2; D /opq2/new;
      C /ren; D /ren/file1; D /ren/file2; C /ren/file3; D /ren/lower-over-upper; D /ren/meta; D /ren/moveme; A /ren/renamed1;
      C /ren/target; A /ren/u2; A /ren/upper-file;
      C /tail; C /tail/log; C /tmp; A /tmp/u; A /tmp/ud; A /tmp/uf; A /tmp/us; D /tree;
      C /wh; C /wh/file-then-dir; C /wh/file-then-link; C /wh/rename-onto; C /x; C /x/file; C /x/file2`;
    expect((await f.cliOk(['diff', id])).trim().split('\n')).toEqual(want.trim().split(/;\s*/));
  });
});
