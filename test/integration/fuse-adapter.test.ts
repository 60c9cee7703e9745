import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, open, readFile, rm, symlink as fsSymlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { statLayout } from '../../src/fuse/binding.js';
import { findMount, parseMountInfo } from '../../src/fuse/mountinfo.js';
import { startMountServer, unmount } from '../../src/fuse/mount-process.js';
import type { FuseMountOpts } from '../../src/fuse/mount-options.js';
import type { MemoryView } from '../../src/fuse/memory-view.js';
import { device, dir, fifo, file, hardlink, symlink, writeMemoryView } from '../helpers/memory-view.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const canMount = process.getuid?.() === 0 && (await readFile('/dev/fuse').then(() => true, (e) => e.code !== 'ENOENT'));

interface Run { code: number | null; stdout: string; stderr: string }
/** Runs a command in a child process: the mount is never touched from this process. */
function run(cmd: string, args: string[], timeout = 20_000): Promise<Run> {
  return new Promise((resolve) => execFile(cmd, args, { timeout, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
    resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })));
}
const asUser = (uid: number, cmd: string[]) => run('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...cmd]);

/** Compiles src/fuse/serve-mount.ts and its imports into a temp dir (others' files may not build yet). */
async function buildServer(out: string): Promise<string> {
  const cfg = path.join(out, 'tsconfig.json');
  await writeFile(cfg, JSON.stringify({
    extends: path.join(REPO, 'tsconfig.json'),
    compilerOptions: { outDir: path.join(out, 'build'), rootDir: path.join(REPO, 'src'), noEmit: false, sourceMap: false,
      typeRoots: [path.join(REPO, 'node_modules/@types')], types: ['node'] },
    include: [], files: [path.join(REPO, 'src/fuse/serve-mount.ts')],
  }));
  const tsc = await run(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', cfg], 120_000);
  if (tsc.code !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  await writeFile(path.join(out, 'build/package.json'), '{"type":"module"}');
  await fsSymlink(path.join(REPO, 'node_modules'), path.join(out, 'node_modules'));
  return path.join(out, 'build/fuse/serve-mount.js');
}

const big = randomBytes(3 * 1024 * 1024 + 12345);
const NS_MTIME: [number, number] = [1_700_000_000, 123_456_789];
const HUGE = 5 * 2 ** 30;
const HUGE_MARK_AT = 4.5 * 2 ** 30;
const MARKER = Buffer.from('past-four-gibibytes');
const BIG_INO = 2 ** 40 + 5;
const items = [
  dir('/etc'),
  file('/etc/hostname', 'lamina\n'),
  file('/secret', 'top secret\n', { mode: 0o600 }),
  file('/public', 'hello world\n', { mode: 0o644 }),
  file('/setuid-bin', '#!/bin/sh\n', { mode: 0o4755 }),
  file('/setgid-bin', '#!/bin/sh\n', { mode: 0o2711 }),
  dir('/tmp', { mode: 0o1777 }),
  dir('/home/user', { mode: 0o750, uid: 1000, gid: 1000 }),
  file('/home/user/notes.txt', 'mine\n', { mode: 0o640, uid: 1000, gid: 1000, mtime: NS_MTIME }),
  file('/hard-a', 'shared bytes\n'),
  hardlink('/hard-b', '/hard-a'),
  file('/big.bin', big),
  file('/empty', ''),
  symlink('/links/abs', '/etc/hostname'),
  symlink('/links/rel', '../etc/hostname'),
  symlink('/links/dangling', '/no/such/target'),
  device('/dev/null', 'char', 1, 3, { mode: 0o666 }),
  device('/dev/sda', 'block', 8, 0),
  fifo('/run.fifo'),
  file('/name with spaces.txt', 'spaces\n'),
  file('/ünïcødé-日本語.txt', 'utf8\n'),
  file('/xattrs', 'x\n', { xattrs: { 'user.comment': 'hello', 'user.bin': Buffer.from([0, 1, 2, 255]), 'trusted.overlay.opaque': 'y' } }),
];

describe.runIf(canMount)('FUSE adapter over a memory view', () => {
  let tmp: string;
  let mnt: string;
  let entry: string;
  let spec: { kind: string; file: string };
  let view: MemoryView;
  const mounted: string[] = [];
  const runDir = () => path.join(tmp, 'run');
  const at = (p: string) => path.join(mnt, p);
  const mount = async (dirPath: string, fuse: FuseMountOpts = {}, track = true) => {
    const rec = await startMountServer(dirPath, spec, fuse, { runDir: runDir(), serverEntry: entry, timeoutMs: 15_000 });
    if (track) mounted.push(dirPath);
    return rec;
  };
  const forceUnmount = (d: string) => unmount(d, { runDir: runDir() }).catch(() => run('umount', ['-l', d]));

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'lamina-fuse-'));
    await chmod(tmp, 0o755); // uid 1000 must reach the mountpoint
    mnt = path.join(tmp, 'mnt point');
    await mkdir(mnt);
    await mkdir(path.join(tmp, 'data'));
    entry = await buildServer(tmp);
    const huge = path.join(tmp, 'data', 'huge.bin'); // sparse: 5 GiB + 4 KiB, a marker past 4 GiB
    await writeFile(huge, '');
    await truncate(huge, HUGE + 4096);
    const fh = await open(huge, 'r+');
    await fh.write(MARKER, 0, MARKER.length, 4096 + HUGE_MARK_AT);
    await fh.close();
    const extra = [file('/huge', '', { size: HUGE, data: { file: huge, offset: 4096 } }), file('/big-ino', 'i\n', { ino: BIG_INO })];
    ({ spec, view } = await writeMemoryView(path.join(tmp, 'data'), [...items, ...extra]));
  }, 180_000);

  afterEach(async () => {
    for (const d of mounted.splice(0)) {
      await forceUnmount(d);
      expect(await findMount(d)).toBeUndefined();
    }
  }, 30_000);

  afterAll(async () => {
    if (!tmp) return;
    const left = () => readFile('/proc/self/mountinfo', 'utf8')
      .then((t) => parseMountInfo(t).filter((m) => m.mountPoint.startsWith(tmp)));
    for (const m of await left()) await run('umount', ['-l', m.mountPoint]);
    expect(await left()).toEqual([]);
    await rm(tmp, { recursive: true, force: true });
  }, 30_000);

  describe('read-only mount', () => {
    beforeAll(() => mount(mnt, {}, false), 30_000);
    afterAll(() => forceUnmount(mnt), 30_000);

    it('shows in mountinfo as fuse.lamina with the requested options', async () => {
      const m = await findMount(mnt);
      expect(m).toMatchObject({ fstype: 'fuse.lamina', source: 'lamina' });
      const line = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.includes('mnt\\040point'))!;
      expect(line).toMatch(/ ro[, ]/);
      expect(line).toMatch(/allow_other/);
      expect(line).toMatch(/default_permissions/);
    });

    it.each([
      ['/secret', '8180 600 0 0 11 1'],
      ['/setuid-bin', '89ed 4755 0 0 10 1'],
      ['/setgid-bin', '85c9 2711 0 0 10 1'],
      ['/tmp', '43ff 1777 0 0 0 2'],
      ['/home/user', '41e8 750 1000 1000 0 2'],
      ['/home/user/notes.txt', '81a0 640 1000 1000 5 1'],
      ['/hard-a', '81a4 644 0 0 13 2'],
      ['/links/abs', 'a1ff 777 0 0 13 1'],
    ])('stat %s', async (p, want) => {
      const r = await run('stat', ['-c', '%f %a %u %g %s %h', at(p)]);
      expect(r.stdout.trim()).toBe(want);
    });

    it('gives a hardlink pair one inode and the root a stable one', async () => {
      const r = await run('stat', ['-c', '%i %h', at('/hard-a'), at('/hard-b'), at('/')]);
      const [a, b, root] = r.stdout.trim().split('\n');
      expect(a).toBe(b);
      expect(root).toBe('1 7'); // 2 + five subdirectories
      const ls = await run('ls', ['-i', at('/')]); // d_ino from readdir
      expect(ls.stdout).toMatch(new RegExp(`^\\s*${a.split(' ')[0]} hard-b$`, 'm'));
    });

    it('reports mtime (ns when the binding is patched) and blocks', async () => {
      const r = await run('stat', ['-c', '%Y %y|%b %B %o', at('/home/user/notes.txt'), at('/big.bin')]);
      const [notes, bigStat] = r.stdout.trim().split('\n');
      const ns = statLayout === 'wide' ? '123456789' : '123000000';
      expect(notes).toBe(`1700000000 2023-11-14 22:13:20.${ns} +0000|1 512 4096`);
      expect(bigStat.split('|')[1]).toBe(`${Math.ceil(big.length / 512)} 512 4096`);
    });

    it('reads small, empty and >1 MiB files', async () => {
      expect((await run('cat', [at('/etc/hostname'), at('/empty'), at('/public')])).stdout).toBe('lamina\nhello world\n');
      const sum = await run('sha256sum', [at('/big.bin')]);
      expect(sum.stdout.split(' ')[0]).toBe(createHash('sha256').update(big).digest('hex'));
    });

    it('reads at random offsets from another process', async () => {
      const offsets = Array.from({ length: 50 }, (_, i) => (i === 0 ? big.length - 7 : Math.floor(Math.random() * big.length)));
      const script = `const fs=require('fs');const fd=fs.openSync(process.argv[1],'r');for(const o of JSON.parse(process.argv[2])){`
        + `const b=Buffer.alloc(4096);const n=fs.readSync(fd,b,0,4096,o);console.log(b.subarray(0,n).toString('hex'))}`;
      const r = await run(process.execPath, ['-e', script, at('/big.bin'), JSON.stringify(offsets)]);
      const want = offsets.map((o) => big.subarray(o, o + 4096).toString('hex'));
      expect(r.stdout.trim().split('\n')).toEqual(want);
    });

    it('passes sizes over 4 GiB and reads past 4 GiB', async () => {
      expect((await run('stat', ['-c', '%s', at('/huge')])).stdout).toBe(`${HUGE}\n`);
      const dd = await run('dd', [`if=${at('/huge')}`, 'iflag=skip_bytes,count_bytes', `skip=${HUGE_MARK_AT}`, `count=${MARKER.length}`, 'status=none']);
      expect(dd.stdout).toBe(MARKER.toString());
    });

    it('passes 64-bit inode numbers when the binding is patched', async () => {
      const want = statLayout === 'wide' ? BIG_INO : BIG_INO % 2 ** 32; // stock fuse-native truncates to 32 bits
      expect((await run('stat', ['-c', '%i', at('/big-ino')])).stdout).toBe(`${want}\n`);
      expect((await run('ls', ['-i', mnt])).stdout).toMatch(new RegExp(`^\\s*${want} big-ino$`, 'm')); // readdir's d_ino
    });

    it('returns symlink targets verbatim', async () => {
      const r = await run('readlink', [at('/links/abs'), at('/links/rel'), at('/links/dangling')]);
      expect(r.stdout).toBe('/etc/hostname\n../etc/hostname\n/no/such/target\n');
      expect((await run('cat', [at('/links/rel')])).stdout).toBe('lamina\n');
    });

    it('shows devices and fifos with their types and numbers', async () => {
      const r = await run('stat', ['-c', '%F %t %T %a', at('/dev/null'), at('/dev/sda'), at('/run.fifo')]);
      expect(r.stdout).toBe('character special file 1 3 666\nblock special file 8 0 660\nfifo 0 0 644\n');
    });

    it('serves xattrs to getfattr, including binary values and size probes', async () => {
      const r = await run('getfattr', ['-d', '-m', '-', '-e', 'hex', at('/xattrs')]);
      expect(r.stdout).toContain('user.comment=0x68656c6c6f');
      expect(r.stdout).toContain('user.bin=0x000102ff');
      expect(r.stdout).toContain('trusted.overlay.opaque=0x79');
      const missing = await run('getfattr', ['-n', 'user.nope', at('/xattrs')]);
      expect(missing.stderr).toMatch(/No such attribute/);
      const small = await run('python3', ['-c', 'import ctypes,sys,os;l=ctypes.CDLL(None,use_errno=True);b=ctypes.create_string_buffer(2);'
        + 'r=l.getxattr(sys.argv[1].encode(),b"user.comment",b,2);print(r,os.strerror(ctypes.get_errno()))', at('/xattrs')]);
      expect(small.stdout.trim()).toBe('-1 Numerical result out of range');
    });

    it('handles names with spaces and any UTF-8', async () => {
      const ls = await run('ls', ['-1', mnt]);
      expect(ls.stdout.split('\n')).toEqual(expect.arrayContaining(['name with spaces.txt', 'ünïcødé-日本語.txt']));
      expect((await run('cat', [at('/ünïcødé-日本語.txt'), at('/name with spaces.txt')])).stdout).toBe('utf8\nspaces\n');
    });

    it('lists with ls -la', async () => {
      const r = await run('ls', ['-la', '--time-style=+%s', mnt]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^-rwsr-xr-x 1 root root +10 1700000000 setuid-bin$/m);
      expect(r.stdout).toMatch(/^drwxrwxrwt 2 root root +0 1700000000 tmp$/m);
      expect(r.stdout).toMatch(/^-rw-r--r-- 2 root root +13 1700000000 hard-b$/m);
      expect(r.stdout).toMatch(/^drwxr-xr-x 2 root root +0 1700000000 dev$/m);
      expect(r.stdout).toMatch(/^-rw-r--r-- 1 root root +5 1700000000 ünïcødé-日本語.txt$/m);
      expect(r.stdout).toMatch(/^-rw-r--r-- 1 root root +7 1700000000 name with spaces.txt$/m);
    });

    it.each([
      ['touch', ['@/newfile']],
      ['touch', ['@/public']],
      ['mkdir', ['@/newdir']],
      ['rm', ['-f', '@/public']],
      ['chmod', ['600', '@/public']],
      ['ln', ['-s', 'x', '@/newlink']],
    ])('answers EROFS to %s %s', async (cmd, args) => {
      const r = await run(cmd, args.map((a) => (a.startsWith('@') ? at(a.slice(1)) : a)));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Read-only file system/);
    });

    it('lets the kernel enforce permissions for other users', async () => {
      const secret = await asUser(1000, ['cat', at('/secret')]);
      expect(secret.code).not.toBe(0);
      expect(secret.stderr).toMatch(/Permission denied/);
      expect((await asUser(1000, ['cat', at('/public')])).stdout).toBe('hello world\n');
      expect((await asUser(1000, ['cat', at('/home/user/notes.txt')])).stdout).toBe('mine\n');
      expect((await asUser(1001, ['ls', at('/home/user')])).stderr).toMatch(/Permission denied/);
    });

    it('answers statfs', async () => {
      const r = await run('stat', ['-f', '-c', '%S %b %c %l', mnt]);
      const { files, bytes } = view.stats();
      expect(r.stdout.trim()).toBe(`4096 ${Math.ceil(bytes / 4096)} ${files} 255`);
    });
  });

  it('answers EROFS from the ops themselves on a mount without ro', async () => {
    const rw = path.join(tmp, 'rw');
    await mkdir(rw, { recursive: true });
    await mount(rw, { readOnly: false });
    for (const cmd of [['touch', path.join(rw, 'new')], ['mkdir', path.join(rw, 'd')], ['rm', path.join(rw, 'public')],
      ['chmod', '600', path.join(rw, 'public')], ['chown', '1:1', path.join(rw, 'public')],
      ['setfattr', '-n', 'user.a', '-v', '1', path.join(rw, 'public')], ['truncate', '-s', '0', path.join(rw, 'public')],
      ['mv', path.join(rw, 'public'), path.join(rw, 'p2')], ['ln', path.join(rw, 'public'), path.join(rw, 'p3')], ['mkfifo', path.join(rw, 'f')]]) {
      const r = await run(cmd[0], cmd.slice(1));
      expect(r.stderr, cmd.join(' ')).toMatch(/Read-only file system/);
    }
    const write = await run('sh', ['-c', `echo x >> '${path.join(rw, 'public')}'`]);
    expect(write.stderr).toMatch(/Read-only file system/);
    expect((await run('cat', [path.join(rw, 'public')])).stdout).toBe('hello world\n');
  });

  it('recovers a mountpoint whose server was killed with SIGKILL', async () => {
    const d = path.join(tmp, 'killed');
    await mkdir(d, { recursive: true });
    const first = await mount(d);
    process.kill(first.pid, 'SIGKILL');
    let r: Run; // statfs: stat may still be answered from the kernel's attr cache
    do r = await run('stat', ['-f', d]); while (r.code === 0);
    expect(r.stderr).toMatch(/Transport endpoint is not connected|Software caused connection abort/); // ENOTCONN, ECONNABORTED while the server exits
    const second = await mount(d);
    expect(second.pid).not.toBe(first.pid);
    expect((await run('cat', [path.join(d, 'etc/hostname')])).stdout).toBe('lamina\n');
    await unmount(d, { runDir: runDir() });
    expect(await findMount(d)).toBeUndefined();
  });

  it('unmount cleans up a dead mount without a live server', async () => {
    const d = path.join(tmp, 'dead');
    await mkdir(d, { recursive: true });
    const rec = await mount(d);
    process.kill(rec.pid, 'SIGKILL');
    while ((await run('stat', ['-f', d])).code === 0);
    await unmount(d, { runDir: runDir() });
    expect(await findMount(d)).toBeUndefined();
    expect((await run('stat', ['-c', '%F', d])).stdout).toBe('directory\n');
  });

  it('reports the server log when the mount fails', async () => {
    const bad = { kind: 'memory', file: path.join(tmp, 'missing.json') };
    const d = path.join(tmp, 'bad');
    await mkdir(d, { recursive: true });
    await expect(startMountServer(d, bad, {}, { runDir: runDir(), serverEntry: entry }))
      .rejects.toThrow(/mount server \d+ exited.*\n[\s\S]*missing\.json/);
  });

  it('refuses to mount twice on one dir, and the server exits when unmounted', async () => {
    const d = path.join(tmp, 'twice');
    await mkdir(d, { recursive: true });
    const rec = await mount(d);
    await expect(startMountServer(d, spec, {}, { runDir: runDir(), serverEntry: entry })).rejects.toThrow(/already mounted/);
    await unmount(d, { runDir: runDir() });
    await expect(run('kill', ['-0', String(rec.pid)])).resolves.toMatchObject({ code: 1 });
  });
});
