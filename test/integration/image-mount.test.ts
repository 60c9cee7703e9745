// `lamina mount --read-only` of real images, checked against `umoci unpack` and real tools.
// Every command that touches a mount runs in a child process; the mount server is a
// process of its own (started by the CLI), so this process's async fs walks are safe too.
import { chmod, link, mkdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mountRecord } from '../../src/fuse/mount-process.js';
import { parseMountInfo } from '../../src/fuse/mountinfo.js';
import {
  buildOciLayout, busyboxRootfs, diffSnapshots, ociToDockerArchive, treeSnapshot, umociUnpack, type TreeEntry,
} from '../helpers/images.js';
import { lamina, laminaOk, tempDir } from '../helpers/lamina.js';
import { pidAlive, run, runOk, waitFor, type RunResult } from '../helpers/proc.js';

const canMount = process.getuid?.() === 0 && (await readFile('/dev/fuse').then(() => true, (e) => e.code !== 'ENOENT'));

const NS_MTIME = '1700000000.123456789';
const MANY = 5000;
const LONG_DIR = `long/${'d'.repeat(120)}/${'e'.repeat(60)}`;
const LONG_TARGET = `../${'t/'.repeat(150)}end`;
const WEIRD = ['back\\slash', 'tab\there', 'new\nline', '-dash', `quote'"`, '*star?', 'trailing space '];

/** Mount points of lamina mounts under `prefix` in /proc/self/mountinfo. */
async function laminaMounts(prefix: string): Promise<string[]> {
  const entries = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
  return entries.filter((m) => m.mountPoint.startsWith(prefix) && m.fstype.startsWith('fuse')).map((m) => m.mountPoint);
}

const sh = (script: string, cwd?: string, timeout = 120_000) => run('sh', ['-c', script], { cwd, timeout });
const asUser = (uid: number, cmd: string[]) =>
  run('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...cmd], { timeout: 20_000 });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Layer 1: every kind of entry the later layers change or keep. */
async function baseLayer(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  for (const d of ['etc', 'perm/private', 'perm/sticky', 'perm/sgid-dir', 'home/user', 'hard', 'links', 'devs',
    'xattr/dir', 'big', 'many', 'dir with spaces', 'wh/gone-dir/b', 'tc/d2l/sub', 'opq/sub', 'redo', 'emptied', 'meta',
    'owners', 'times', 'weird']) {
    await mkdir(p(d), { recursive: true });
  }
  await writeFile(p('etc/hostname'), 'base\n');
  await writeFile(p('etc/config'), 'key=value\n');
  await writeFile(p('perm/secret'), 'secret\n', { mode: 0o600 });
  await writeFile(p('perm/public'), 'public\n', { mode: 0o644 });
  await writeFile(p('perm/private/inside'), 'inside\n');
  for (const [f, mode] of [['setuid', 0o4755], ['setgid', 0o2755], ['all-bits', 0o7777]] as const) {
    await writeFile(p(`perm/${f}`), `#!/bin/sh\n# ${f}\n`);
    await chmod(p(`perm/${f}`), mode);
  }
  await chmod(p('perm/private'), 0o700);
  await chmod(p('perm/sticky'), 0o1777);
  await chmod(p('perm/sgid-dir'), 0o2775);
  await writeFile(p('home/user/notes.txt'), 'mine\n', { mode: 0o640 });
  await runOk('chown', ['-R', '1000:1000', p('home/user')]);
  await chmod(p('home/user'), 0o750);
  // hardlinks: a group of three, and a pair whose first tar name (gone) a later layer removes
  await writeFile(p('hard/a'), 'three names\n');
  await link(p('hard/a'), p('hard/b'));
  await link(p('hard/a'), p('hard/c'));
  await writeFile(p('hard/gone'), 'survives under its second name\n');
  await link(p('hard/gone'), p('hard/keep'));
  await symlink('../etc/hostname', p('links/rel'));
  await symlink('/etc/hostname', p('links/abs'));
  await symlink('/no/such/target', p('links/dangling'));
  await symlink('../etc', p('links/dir-link'));
  await runOk('mknod', ['-m', '0666', p('devs/null'), 'c', '1', '3']);
  await runOk('mknod', ['-m', '0660', p('devs/sda'), 'b', '8', '0']);
  await runOk('mknod', ['-m', '0600', p('devs/wide'), 'b', '259', '300000']); // minor above 8 bits
  await runOk('mkfifo', ['-m', '0644', p('devs/fifo')]);
  await writeFile(p('xattr/file'), 'has xattrs\n');
  await runOk('setfattr', ['-n', 'user.comment', '-v', 'hello world', p('xattr/file')]);
  await runOk('setfattr', ['-n', 'user.bin', '-v', '0x0001ff00fe', p('xattr/file')]);
  await runOk('setfattr', ['-n', 'trusted.lamina', '-v', 'trusted value', p('xattr/file')]);
  await runOk('setfattr', ['-n', 'user.dir', '-v', '1', p('xattr/dir')]);
  await writeFile(p('xattr/changed'), 'loses one xattr\n');
  await runOk('setfattr', ['-n', 'user.a', '-v', 'one', p('xattr/changed')]);
  await runOk('setfattr', ['-n', 'user.b', '-v', 'two', p('xattr/changed')]);
  await runOk('sh', ['-c', 'head -c 100M /dev/urandom > "$1"', 'sh', p('big/random.bin')]);
  await writeFile(p('empty'), '');
  for (let i = 0; i < MANY; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, j) => writeFile(p(`many/f${String(i + j).padStart(5, '0')}`), `${i + j}\n`)));
  }
  await writeFile(p('dir with spaces/ünïcødé 文件.txt'), 'unicode\n');
  await writeFile(p('wh/gone-file'), 'x\n');
  await writeFile(p('wh/keep'), 'kept\n');
  await writeFile(p('wh/gone-dir/a'), 'a\n');
  await writeFile(p('wh/gone-dir/b/c'), 'c\n');
  await writeFile(p('tc/f2d2f'), 'v1 file\n');
  await writeFile(p('tc/d2l/sub/x'), 'x\n');
  await symlink('somewhere', p('tc/l2d'));
  await writeFile(p('opq/old1'), 'old\n');
  await writeFile(p('opq/sub/old2'), 'old\n');
  await writeFile(p('redo/old'), 'old\n');
  await writeFile(p('emptied/x'), 'x\n');
  await writeFile(p('meta/child'), 'child\n');
  // hardlinks to a symlink, a fifo and a device; a pair whose mode a later layer changes
  await link(p('links/rel'), p('links/rel-hard'));
  await link(p('devs/fifo'), p('devs/fifo-hard'));
  await link(p('devs/null'), p('devs/null-hard'));
  await writeFile(p('hard/m1'), 'mode changes above\n');
  await link(p('hard/m1'), p('hard/m2'));
  // xattrs on a symlink and a fifo (trusted.* only: user.* is not allowed there), file capabilities
  await runOk('setfattr', ['-h', '-n', 'trusted.sym', '-v', 'on a symlink', p('links/abs')]);
  await runOk('setfattr', ['-n', 'trusted.fifo', '-v', 'on a fifo', p('devs/fifo')]);
  await writeFile(p('perm/cap-bin'), 'caps\n', { mode: 0o755 });
  await runOk('setcap', ['cap_net_raw+ep', p('perm/cap-bin')]);
  // ids and times that need PAX or base-256 in a tar header
  await writeFile(p('owners/big-ids'), 'big ids\n');
  await runOk('chown', ['-h', '3000000:3000001', p('owners/big-ids')]);
  await writeFile(p('owners/nobody'), 'nobody\n');
  await runOk('chown', ['65534:65534', p('owners/nobody')]);
  await writeFile(p('times/old'), 'before 1970\n');
  await writeFile(p('times/future'), 'after 2242\n');
  await runOk('touch', ['-h', '-d', '1960-01-01 00:00:00 UTC', p('times/old')]);
  // after 2242 (no longer fits ustar's 11 octal digits) but before 2262: umoci unpack sets
  // times through int64 nanoseconds, so a later one (2300) comes out as 1901 (lamina shows 2300)
  await runOk('touch', ['-h', '-d', '2250-01-01 00:00:00 UTC', p('times/future')]);
  // names: longer than a ustar header holds, NAME_MAX, and bytes tools like to escape
  await mkdir(p(LONG_DIR), { recursive: true });
  await writeFile(p(`${LONG_DIR}/${'n'.repeat(255)}`), 'long name\n');
  await symlink(LONG_TARGET, p('long/link'));
  for (const n of WEIRD) await writeFile(p(`weird/${n}`), `${JSON.stringify(n)}\n`);
}

/** Layer 2: whiteouts, type changes, a removed hardlink name, content and metadata changes. */
async function changeLayer(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  await rm(p('wh/gone-file'));
  await rm(p('wh/gone-dir'), { recursive: true });
  await rm(p('tc/f2d2f'));
  await mkdir(p('tc/f2d2f'));
  await writeFile(p('tc/f2d2f/inner'), 'v2 dir\n');
  await rm(p('tc/d2l'), { recursive: true });
  await symlink('target', p('tc/d2l'));
  await rm(p('tc/l2d'));
  await mkdir(p('tc/l2d'));
  await writeFile(p('tc/l2d/in'), 'now a dir\n');
  await rm(p('hard/gone'));
  await writeFile(p('etc/hostname'), 'top\n');
  await chmod(p('etc/config'), 0o600);
  await runOk('setfattr', ['-x', 'user.a', p('xattr/changed')]);
  await rm(p('emptied/x'));
  await chmod(p('meta'), 0o711);
  await runOk('chown', ['1000:1000', p('meta')]);
  await chmod(p('hard/m1'), 0o600);
}

/** Layer 3: the directory that was a file becomes a file again. */
async function retypeLayer(r: string): Promise<void> {
  await rm(path.join(r, 'tc/f2d2f'), { recursive: true });
  await writeFile(path.join(r, 'tc/f2d2f'), 'v3 file again\n');
  await mkdir(path.join(r, 'wh/gone-dir')); // back, without its old contents
  await writeFile(path.join(r, 'wh/gone-dir/again'), 'again\n');
}

const pax = { mtime: NS_MTIME };
/** Layer 4 (raw): an opaque directory, and nanosecond mtimes (umoci repack keeps only seconds). */
const rawLayer = {
  entries: [
    { name: 'opq/', type: 'directory' as const, mode: 0o755 },
    { name: 'opq/.wh..wh..opq', content: '' },
    { name: 'opq/new', content: 'new\n' },
    { name: 'ns/', type: 'directory' as const, pax },
    { name: 'ns/file', content: 'ns\n', pax },
    { name: 'ns/link', type: 'symlink' as const, linkname: 'file', pax },
    { name: 'ns/hl-a', content: 'raw hardlink\n', mode: 0o640, uid: 1000, gid: 1000 },
    { name: 'ns/hl-b', type: 'link' as const, linkname: 'ns/hl-a' },
    // whiteout and re-creation in one layer: the whiteout hides only what is below
    { name: 'redo/.wh.old', content: '' },
    { name: 'redo/', type: 'directory' as const, mode: 0o750 },
    { name: 'redo/new', content: 'new\n' },
  ],
};

/**
 * `ls -l` lines with whitespace collapsed and directory sizes blanked: a directory's st_size
 * is filesystem-specific (ext4: 4096 and up; lamina: 0, as tars record no size for them), and
 * column padding follows the widest size. `total` (st_blocks) differs for the same reason:
 * ext4 counts allocated blocks, lamina ceil(size / 512).
 */
function normalizeLs(text: string): string {
  const line = /^([-bcdlps][^ ]*) +(\d+) +(\S+) +(\S+) +(.*?) +(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} [+-]\d{4}) (.*)$/;
  return text.split('\n').map((l) => {
    if (/^total \d+$/.test(l)) return 'total -';
    const m = line.exec(l);
    if (!m) return l;
    const size = m[1]!.startsWith('d') ? '-' : m[5]!.replace(/ +/g, ' ');
    return [m[1], m[2], m[3], m[4], size, m[6], m[7]].join(' ');
  }).join('\n');
}

/** `stat -c '%n %f %u %g %s %h %Y'` lines with directory sizes blanked (see normalizeLs). */
function normalizeStat(text: string): string {
  return text.split('\n').map((l) => {
    const f = l.split(' ');
    if (f.length < 7) return l;
    const isDir = (parseInt(f[f.length - 6]!, 16) & 0o170000) === 0o040000;
    if (isDir) f[f.length - 3] = '-';
    return f.join(' ');
  }).join('\n');
}

/**
 * listxattr order is filesystem-specific: lamina answers in the layer tar's order, while umoci
 * sets xattrs in Go map order, so ext4's order changes from one unpack to the next.
 * `tar -tvv` prints one `  x: SIZE NAME` line per xattr below its entry.
 */
const sortXattrLines = (text: string) => text.replace(/(?:^  x: .*\n)+/gm, (run) => run.split('\n').filter(Boolean).sort().join('\n') + '\n');

/**
 * getfattr -R prints files in readdir order (ext4 hashes, lamina sorts) and each file's
 * xattrs in listxattr order (see sortXattrLines): both are sorted, the `# file:` line first.
 */
const sortBlocks = (text: string) => text.split('\n\n').map((b) => b.trim().split('\n').sort().join('\n'))
  .filter(Boolean).sort().join('\n\n');
const sortLines = (text: string) => text.split('\n').sort().join('\n');

/** The reference tree really has what the layers were built to produce, so an empty diff means something. */
function expectEveryFeature(tree: TreeEntry[]): void {
  const at = new Map(tree.map((e) => [e.path, e]));
  const has = (p: string, want: Partial<TreeEntry>) => expect(at.get(p), p).toMatchObject(want);
  const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
  expect(tree.filter((e) => e.path.startsWith('/many/'))).toHaveLength(MANY);
  for (const gone of ['/wh/gone-file', '/wh/gone-dir/b', '/hard/gone', '/opq/old1', '/opq/sub', '/tc/f2d2f/inner', '/tc/d2l/sub']) {
    expect(at.has(gone), gone).toBe(false);
  }
  has('/wh/keep', { type: 'file' });
  has('/opq/new', { type: 'file' });
  has('/tc/f2d2f', { type: 'file', size: 14 });
  has('/tc/d2l', { type: 'symlink', linkname: 'target' });
  has('/tc/l2d', { type: 'dir' });
  has('/hard/a', { nlink: 3, hardlinkGroup: '/hard/a' });
  has('/hard/c', { nlink: 3, hardlinkGroup: '/hard/a' });
  has('/hard/keep', { nlink: 1, size: 31 });
  expect(at.get('/hard/keep')?.hardlinkGroup).toBeUndefined();
  has('/ns/hl-b', { nlink: 2, hardlinkGroup: '/ns/hl-a', uid: 1000, mode: 0o640 });
  has('/links/abs', { type: 'symlink', linkname: '/etc/hostname' });
  has('/links/dangling', { type: 'symlink', linkname: '/no/such/target' });
  has('/devs/null', { type: 'char', rdevMajor: 1, rdevMinor: 3, mode: 0o666 });
  has('/devs/wide', { type: 'block', rdevMajor: 259, rdevMinor: 300000 });
  has('/devs/fifo', { type: 'fifo' });
  has('/xattr/file', { xattrs: { 'user.comment': b64('hello world'), 'user.bin': b64(Buffer.from([0, 1, 0xff, 0, 0xfe])),
    'trusted.lamina': b64('trusted value') } });
  has('/xattr/changed', { xattrs: { 'user.b': b64('two') } });
  has('/xattr/dir', { type: 'dir', xattrs: { 'user.dir': b64('1') } });
  has('/perm/all-bits', { mode: 0o7777 });
  has('/perm/setuid', { mode: 0o4755 });
  has('/perm/sticky', { mode: 0o1777 });
  has('/perm/sgid-dir', { mode: 0o2775 });
  has('/etc/config', { mode: 0o600 });
  has('/etc/hostname', { size: 4 });
  has('/home/user/notes.txt', { uid: 1000, gid: 1000, mode: 0o640 });
  has('/big/random.bin', { size: 100 * 2 ** 20 });
  has('/empty', { type: 'file', size: 0 });
  has('/dir with spaces/ünïcødé 文件.txt', { type: 'file' });
  has('/ns/file', { mtime: 1_700_000_000 });
  for (const gone of ['/redo/old', '/emptied/x', '/wh/gone-dir/a']) expect(at.has(gone), gone).toBe(false);
  has('/redo', { mode: 0o750 });
  has('/redo/new', { type: 'file' });
  has('/emptied', { type: 'dir' });
  has('/wh/gone-dir/again', { type: 'file' });
  has('/meta', { mode: 0o711, uid: 1000, gid: 1000 });
  has('/hard/m2', { mode: 0o600, nlink: 2, hardlinkGroup: '/hard/m1' });
  has('/links/rel-hard', { type: 'symlink', nlink: 2, hardlinkGroup: '/links/rel' });
  has('/devs/fifo-hard', { type: 'fifo', nlink: 2, hardlinkGroup: '/devs/fifo', xattrs: { 'trusted.fifo': b64('on a fifo') } });
  has('/devs/null-hard', { type: 'char', nlink: 2, hardlinkGroup: '/devs/null' });
  has('/links/abs', { xattrs: { 'trusted.sym': b64('on a symlink') } });
  expect(Object.keys(at.get('/perm/cap-bin')!.xattrs)).toEqual(['security.capability']);
  has('/owners/big-ids', { uid: 3_000_000, gid: 3_000_001 });
  has('/times/old', { mtime: -315_619_200 });
  has('/times/future', { mtime: 8_835_955_200 });
  has(`/${LONG_DIR}/${'n'.repeat(255)}`, { type: 'file' });
  has('/long/link', { linkname: LONG_TARGET });
  for (const n of WEIRD) has(`/weird/${n}`, { type: 'file' });
}

describe.runIf(canMount)('lamina mount --read-only', () => {
  let work: string;
  let cleanupWork: () => Promise<void>;
  let runDir: string;
  let layout: string;
  let reference: string; // umoci's unpacked rootfs
  const stores: Record<'archive' | 'layout', { root: string; id: string }> = {} as never;
  let mnt: string;
  const mounted = new Map<string, string>(); // mountpoint → store root
  const env = () => ({ LAMINA_RUN_DIR: runDir });

  async function mount(root: string, ref: string, dir: string): Promise<RunResult> {
    // a dead mount on `dir` answers ENOTCONN: lamina mount clears it, mkdir cannot
    await mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOTCONN') throw err; });
    const r = await lamina(root, ['mount', '--read-only', ref, dir], { env: env(), timeout: 60_000 });
    if (r.code === 0) mounted.set(dir, root);
    return r;
  }
  async function mountOk(root: string, ref: string, dir: string): Promise<void> {
    const r = await mount(root, ref, dir);
    expect(r.code, r.stderr).toBe(0);
  }
  /** `lamina umount`; on failure `umount -l` as a last resort, and the failure is returned. */
  async function umount(root: string, dir: string): Promise<string | undefined> {
    const r = await lamina(root, ['umount', dir], { env: env(), timeout: 60_000 });
    mounted.delete(dir);
    if (r.code === 0) return undefined;
    await run('umount', ['-l', dir]);
    return `lamina umount ${dir}: ${r.stderr}`;
  }

  beforeAll(async () => {
    ({ dir: work, cleanup: cleanupWork } = await tempDir('lamina-image-mount-'));
    await chmod(work, 0o755); // uid 1000 must reach the mountpoints
    runDir = path.join(work, 'run');
    layout = path.join(work, 'layout');
    await buildOciLayout(layout, [baseLayer, changeLayer, retypeLayer, rawLayer], { timeout: 300_000 });
    reference = await umociUnpack(layout, 'latest', path.join(work, 'unpacked'));
    const archive = path.join(work, 'features.tar');
    await ociToDockerArchive(layout, 'latest', archive, 'lamina.test/features:1');
    stores.archive = { root: path.join(work, 'store-a'), id: '' };
    expect(await laminaOk(stores.archive.root, ['load', '-i', archive])).toBe('Loaded image: lamina.test/features:1\n');
    stores.archive.id = JSON.parse(await laminaOk(stores.archive.root, ['inspect', 'lamina.test/features:1']))[0].Id;
    await rm(archive);
    stores.layout = { root: path.join(work, 'store-b'), id: '' };
    const loaded = await laminaOk(stores.layout.root, ['load', '-i', layout]);
    stores.layout.id = /sha256:[0-9a-f]{64}/.exec(loaded)![0];
    mnt = path.join(work, 'mnt');
  }, 600_000);

  afterEach(async () => {
    const failures = [];
    for (const [d, root] of [...mounted]) failures.push(await umount(root, d));
    expect(await laminaMounts(work)).toEqual([]);
    expect(failures.filter(Boolean)).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    if (!work) return;
    for (const m of await laminaMounts(work)) await run('umount', ['-l', m]);
    expect(await laminaMounts(work)).toEqual([]);
    await cleanupWork();
  }, 60_000);

  it('loads both forms as one image', () => {
    expect(stores.layout.id).toBe(stores.archive.id); // skopeo keeps the config bytes
  });

  it.each(['archive', 'layout'] as const)('equals umoci unpack entry by entry (loaded from the %s)', async (which) => {
    await mountOk(stores[which].root, stores[which].id, mnt);
    const [got, want] = await Promise.all([treeSnapshot(mnt), treeSnapshot(reference)]);
    expectEveryFeature(want);
    expect(diffSnapshots(want, got, { labels: ['umoci', 'lamina'] })).toEqual([]);
    // treeSnapshot keeps whole seconds; the raw layer's PAX mtimes have nanoseconds
    const ns = (dir: string) => runOk('sh', ['-c', 'find . -printf "%p %T@\\n" | LC_ALL=C sort'], { cwd: dir });
    const [nsGot, nsWant] = await Promise.all([ns(mnt), ns(reference)]);
    expect(nsGot.stdout).toBe(nsWant.stdout);
    expect(nsGot.stdout).toContain(`./ns/file ${NS_MTIME}0\n`);
  }, 300_000);

  it('gives the same output as umoci unpack to find, tar, du, ls, getfattr and stat', async () => {
    await mountOk(stores.archive.root, 'lamina.test/features:1', mnt);
    const both = async (script: string) => {
      const [got, want] = await Promise.all([sh(script, mnt), sh(script, reference)]);
      expect(got.code, `${script}: ${got.stderr}`).toBe(want.code);
      return { got, want };
    };
    const find = await both('find . | LC_ALL=C sort');
    expect(find.got.stdout).toBe(find.want.stdout);
    expect(find.got.stdout.split('\n')).toHaveLength(find.want.stdout.split('\n').length);

    // --sort=name: tar archives in readdir order otherwise, and the first name of a hardlink group becomes the file
    const tarGnu = 'tar --sort=name --numeric-owner -cf - .';
    const listing = await both(`${tarGnu} | tar --numeric-owner --full-time -tvf -`);
    expect(listing.got.stdout).toBe(listing.want.stdout);
    expect(listing.got.stdout).toMatch(/^hrw-r--r-- 0\/0 +0 \S+ \S+ \.\/hard\/b link to \.\/hard\/a$/m);
    const gnuBytes = await both(`${tarGnu} | sha256sum`);
    expect(gnuBytes.got.stdout).toBe(gnuBytes.want.stdout);
    // pax: ns mtimes. atime/ctime and the PID in header names would differ between any two runs
    const paxTar = "tar --sort=name --numeric-owner --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime";
    const paxBytes = await both(`${paxTar} -cf - . | sha256sum`);
    expect(paxBytes.got.stdout).toBe(paxBytes.want.stdout);
    // with xattrs, compared as a listing: tar stores them in listxattr order (see sortXattrLines)
    const paxXattrs = await both(`${paxTar} --xattrs --xattrs-include='*' -cf - . | tar --xattrs --xattrs-include='*' --numeric-owner --full-time -tvvf -`);
    expect(sortXattrLines(paxXattrs.got.stdout)).toBe(sortXattrLines(paxXattrs.want.stdout));
    expect(paxXattrs.got.stdout).toMatch(/ \.\/xattr\/file\n(  x: .*\n){3}/);

    // du: directories have size 0 in lamina (see normalizeLs), so umoci's total minus its directories' sizes
    const du = await both('du -sb . && du -s --apparent-size . && find . -type d -printf "%s\\n"');
    const [gotBytes, gotKib] = du.got.stdout.split('\n').map((l) => Number(l.split('\t')[0]));
    const [wantBytes, , ...dirSizes] = du.want.stdout.trim().split('\n').map((l) => Number(l.split('\t')[0]));
    const wantFileBytes = wantBytes! - dirSizes.reduce((a, b) => a + b, 0);
    expect(gotBytes).toBe(wantFileBytes);
    expect(gotKib).toBe(Math.ceil(wantFileBytes / 1024));
    expect(gotBytes).toBeGreaterThan(100 * 2 ** 20);

    const ls = await both('ls -lR --time-style=full-iso');
    expect(normalizeLs(ls.got.stdout)).toBe(normalizeLs(ls.want.stdout));
    expect(ls.got.stdout).toContain(`ns:\ntotal 2\n`);
    // -a: . and .. too; the top's .. is the mountpoint's parent, which is not part of either tree
    const lsa = await both('ls -laR --time-style=full-iso');
    const dropTopDotDot = (t: string) => t.replace(/^\S+ .* \.\.\n/m, '');
    expect(normalizeLs(dropTopDotDot(lsa.got.stdout))).toBe(normalizeLs(dropTopDotDot(lsa.want.stdout)));
    expect(lsa.got.stdout).toMatch(/^\.\/ns:\ntotal \d+\nd\S+ +\d+ .* \.\nd\S+ .* \.\.\n/m);

    const xattrs = await both('getfattr -R -d -m - .');
    expect(sortBlocks(xattrs.got.stdout)).toBe(sortBlocks(xattrs.want.stdout));
    expect(sortLines(xattrs.got.stderr)).toBe(sortLines(xattrs.want.stderr));
    expect(xattrs.got.stdout).toContain('trusted.lamina="trusted value"');
    const hexXattrs = await both('getfattr -R -h -d -m - -e hex .');
    expect(sortBlocks(hexXattrs.got.stdout)).toBe(sortBlocks(hexXattrs.want.stdout));
    expect(hexXattrs.got.stdout).toContain('user.bin=0x0001ff00fe');

    const stat = await both("find . -exec stat -c '%n %f %u %g %s %h %Y' {} + | LC_ALL=C sort");
    expect(normalizeStat(stat.got.stdout)).toBe(normalizeStat(stat.want.stdout));
    expect(stat.got.stdout).toContain('./hard/b 81a4 0 0 12 3 ');
  }, 300_000);

  it('walks a 5,000-entry directory like umoci unpack', async () => {
    await mountOk(stores.archive.root, 'lamina.test/features:1', mnt);
    const t0 = performance.now();
    const got = await treeSnapshot(path.join(mnt, 'many'));
    const t1 = performance.now();
    const want = await treeSnapshot(path.join(reference, 'many'));
    const t2 = performance.now();
    expect(diffSnapshots(want, got, { labels: ['umoci', 'lamina'] })).toEqual([]);
    expect(got).toHaveLength(MANY + 1);
    console.log(`snapshot of many/ (${MANY} files): lamina mount ${(t1 - t0).toFixed(0)} ms (cold), `
      + `umoci unpack on ext4 ${(t2 - t1).toFixed(0)} ms, diff ${(performance.now() - t2).toFixed(0)} ms`);
  }, 120_000);

  it('answers Read-only file system to every change', async () => {
    await mountOk(stores.archive.root, 'lamina.test/features:1', mnt);
    const at = (p: string) => path.join(mnt, p);
    for (const cmd of [
      ['touch', at('perm/public')], ['touch', at('new-file')], ['mkdir', at('new-dir')], ['rm', '-f', at('perm/public')],
      ['rm', '-rf', at('wh')], ['chmod', '600', at('perm/public')], ['mv', at('perm/public'), at('perm/moved')],
      ['setfattr', '-n', 'user.new', '-v', '1', at('perm/public')], ['setfattr', '-x', 'user.comment', at('xattr/file')],
    ]) {
      const r = await run(cmd[0]!, cmd.slice(1), { timeout: 20_000 });
      expect(r.code, cmd.join(' ')).not.toBe(0);
      expect(r.stderr, cmd.join(' ')).toMatch(/Read-only file system/);
    }
    const after = await run('sh', ['-c', 'cat perm/public; ls wh; getfattr --only-values -n user.comment xattr/file'], { cwd: mnt });
    expect(after.stdout).toBe('public\ngone-dir\nkeep\nhello world');
  }, 60_000);

  it('lets the kernel enforce modes and owners for other users (allow_other, default_permissions)', async () => {
    await mountOk(stores.archive.root, 'lamina.test/features:1', mnt);
    const at = (p: string) => path.join(mnt, p);
    const secret = await asUser(1000, ['cat', at('perm/secret')]);
    expect(secret.code).not.toBe(0);
    expect(secret.stderr).toMatch(/Permission denied/);
    expect(await asUser(1000, ['cat', at('perm/public')])).toMatchObject({ code: 0, stdout: 'public\n' });
    const ls = await asUser(1000, ['ls', at('perm/private')]);
    expect(ls.code).not.toBe(0);
    expect(ls.stderr).toMatch(/Permission denied/);
    expect((await asUser(1000, ['cat', at('perm/private/inside')])).stderr).toMatch(/Permission denied/);
    expect(await asUser(1000, ['cat', at('home/user/notes.txt')])).toMatchObject({ code: 0, stdout: 'mine\n' });
    expect((await asUser(1001, ['ls', at('home/user')])).stderr).toMatch(/Permission denied/);
    expect((await run('cat', [at('perm/secret')])).stdout).toBe('secret\n'); // root still reads it
    // `..` of the mount root is the mountpoint's parent, as for any mount
    const up = await run('sh', ['-c', 'cd "$1/.." && pwd -P && stat -c %d:%i .', 'sh', mnt]);
    const parent = await run('stat', ['-c', '%d:%i', work]);
    expect(up.stdout).toBe(`${await realpath(work)}\n${parent.stdout}`);
  }, 60_000);

  it('runs a shell chrooted into a busybox image; absolute symlinks stay verbatim', async () => {
    const bbLayout = path.join(work, 'busybox-layout');
    await buildOciLayout(bbLayout, [async (r) => {
      await busyboxRootfs(r);
      await symlink('/etc/passwd', path.join(r, 'link-passwd'));
    }]);
    const root = stores.archive.root;
    const id = /sha256:[0-9a-f]{64}/.exec(await laminaOk(root, ['load', '-i', bbLayout]))![0];
    const bb = path.join(work, 'busybox-mnt');
    await mountOk(root, id, bb);
    expect(await run('chroot', [bb, '/bin/sh', '-c', 'echo ok'])).toMatchObject({ code: 0, stdout: 'ok\n' });
    expect((await run('readlink', [path.join(bb, 'link-passwd')])).stdout).toBe('/etc/passwd\n');
    // inside the chroot the link resolves to the image's file; outside, to the host's (the kernel resolves, lamina never does)
    const inside = await run('chroot', [bb, '/bin/cat', '/link-passwd']);
    expect(inside.stdout).toBe((await run('cat', [path.join(bb, 'etc/passwd')])).stdout);
    expect(inside.stdout).toMatch(/^user:x:1000:1000:/m);
    expect((await run('cat', [path.join(bb, 'link-passwd')])).stdout).toBe(await readFile('/etc/passwd', 'utf8'));
    const dotdot = await run('chroot', [bb, '/bin/sh', '-c', 'cd /.. && pwd && ls / | tr "\\n" " "']);
    expect(dotdot.stdout).toBe('/\nbin dev etc home link-passwd proc root sys tmp usr var ');
    expect((await run('chroot', ['--userspec=1000:1000', bb, '/bin/sh', '-c', 'id -u; ls /root'])).stderr).toMatch(/Permission denied/);
  }, 300_000);

  describe('after the mount server is killed', () => {
    async function killServer(dir: string): Promise<number> {
      const rec = await mountRecord(dir, { runDir });
      expect(rec, 'mount record').toBeDefined();
      process.kill(rec!.pid, 'SIGKILL');
      await waitFor(async () => !(await pidAlive(rec!.pid)), { what: `pid ${rec!.pid} to exit` });
      // ECONNABORTED while the kernel tears the connection down, then ENOTCONN for good
      await waitFor(async () => /Transport endpoint is not connected/.test((await run('stat', ['-f', dir])).stderr),
        { what: `${dir} to answer ENOTCONN` });
      return rec!.pid;
    }

    it('mounts again on the same directory', async () => {
      await mountOk(stores.archive.root, 'lamina.test/features:1', mnt);
      const dead = await killServer(mnt);
      await mountOk(stores.archive.root, 'lamina.test/features:1', mnt);
      const rec = await mountRecord(mnt, { runDir });
      expect(rec?.pid).not.toBe(dead);
      expect(await laminaMounts(mnt)).toEqual([mnt]); // the dead mount was removed, not mounted over
      expect((await run('cat', [path.join(mnt, 'etc/hostname')])).stdout).toBe('top\n');
    }, 120_000);

    it('unmounts the dead mount', async () => {
      await mountOk(stores.archive.root, 'lamina.test/features:1', mnt);
      await killServer(mnt);
      const r = await lamina(stores.archive.root, ['umount', mnt], { env: env() });
      expect(r).toMatchObject({ code: 0, stderr: '' });
      mounted.delete(mnt);
      expect(await laminaMounts(work)).toEqual([]);
      expect(await mountRecord(mnt, { runDir })).toBeUndefined();
      expect((await run('stat', ['-c', '%F', mnt])).stdout).toBe('directory\n');
    }, 120_000);
  });

  it('mounts a 1 GiB image as fast as a 1 MiB one', async () => {
    const root = path.join(work, 'store-size');
    const scratch = ['small', 'big'].flatMap((n) => [path.join(work, `${n}-rootfs`), path.join(work, `${n}-rootfs.tar`)]);
    try {
      const image = async (name: string, files: number, mib: number) => {
        const rootfs = path.join(work, `${name}-rootfs`);
        await mkdir(rootfs);
        for (let i = 0; i < files; i++) await runOk('sh', ['-c', `head -c ${mib}M /dev/urandom > "$1"`, 'sh', path.join(rootfs, `part${i}`)]);
        const tarball = `${rootfs}.tar`;
        await runOk('tar', ['--numeric-owner', '-C', rootfs, '-cf', tarball, '.'], { timeout: 300_000 });
        await rm(rootfs, { recursive: true });
        await laminaOk(root, ['import', tarball, `lamina.test/${name}:1`], { timeout: 300_000 });
        await rm(tarball);
        return `lamina.test/${name}:1`;
      };
      const small = await image('small', 1, 1);
      const big = await image('big', 4, 256);
      const times: Record<string, number[]> = { [small]: [], [big]: [] };
      const dir = path.join(work, 'timed');
      for (let i = 0; i < 5; i++) {
        for (const ref of [small, big]) {
          const t0 = performance.now();
          await mountOk(root, ref, dir);
          times[ref]!.push(performance.now() - t0);
          expect(await umount(root, dir)).toBeUndefined();
        }
      }
      const [s, b] = [median(times[small]!), median(times[big]!)];
      console.log(`lamina mount, median of 5: 1 MiB image ${s.toFixed(0)} ms, 1 GiB image ${b.toFixed(0)} ms`);
      expect(b).toBeLessThanOrEqual(1.5 * s + 100);
    } finally {
      for (const p of [root, ...scratch]) await rm(p, { recursive: true, force: true });
    }
  }, 600_000);
});
