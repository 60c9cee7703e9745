// lamina-mountd serving hand-made view files: what the kernel must see for every kind of entry
// (times in ns, hard links, devices, xattrs, names that are not UTF-8, files over 4 GiB), data
// read byte for byte, and a malformed view refused before anything is mounted. The data file
// stands in for a stored layer tar: the server only reads it by offset.
import { randomBytes, createHash } from 'node:crypto';
import { chmod, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMountServer, unmount } from '../../src/fuse/mount-process.js';
import { findMount } from '../../src/fuse/mountinfo.js';
import { decodeFsName } from '../../src/store/fs-name.js';
import type { LayerEntry } from '../../src/store/types.js';
import { mergeLayers } from '../../src/union/merge.js';
import { encodeView } from '../../src/union/view-file-encode.js';
import { H } from '../../src/union/view-file-format.js';
import { dir, file, hardlink, layer, symlink } from '../helpers/layer-fixture.js';
import { tempDir } from '../helpers/lamina.js';
import { run, runOk } from '../helpers/proc.js';

const canMount = process.getuid?.() === 0 && (await readFile('/dev/fuse').then(() => true, (e) => e.code !== 'ENOENT'));
const MiB = 1 << 20;
const GiB = 1024 * MiB;
const ODD = decodeFsName(Buffer.from([0x6e, 0x6f, 0x2d, 0xff, 0xfe, 0x2d, 0x75, 0x74, 0x66, 0x38])); // "no-\xff\xfe-utf8"
const BIG = 5 * GiB + 123;
const MARK_AT = 4 * GiB + 4096; // inside the 5 GiB file, past 4 GiB
/** A file capability as setcap writes it (VFS_CAP_REVISION_2, effective, cap_net_bind_service permitted). */
const CAP_NET_BIND_SERVICE = Buffer.from('0100000200040000000000000000000000000000', 'hex');

const out = async (cmd: string, args: string[]) => (await runOk(cmd, args, { timeout: 120_000 })).stdout;
const py = (code: string, ...args: string[]) => out('python3', ['-c', code, ...args]);

describe.runIf(canMount)('lamina-mountd on hand-made views', () => {
  let work: string;
  let cleanup: () => Promise<void>;
  let store: string;
  let mnt: string;
  let random: Buffer;
  const runDir = () => path.join(work, 'run');
  const m = (p: string) => path.join(mnt, p);

  /** Lays the contents out in one data file (512-byte aligned, like a tar) and writes the view. */
  async function writeStore(entries: (LayerEntry & { content?: Buffer })[]): Promise<string> {
    const data = await open(path.join(store, 'blobs/sha256/data'), 'w');
    let at = 512;
    for (const e of entries) {
      if (e.type !== 'file' || !e.content) continue;
      await data.write(e.content, 0, e.content.length, at);
      Object.assign(e, { offset: at, size: e.content.length });
      at += Math.ceil(e.content.length / 512) * 512 + 512;
    }
    const big = entries.find((e) => e.path === 'big/five-gib')!;
    Object.assign(big, { offset: at, size: BIG });
    await data.write(Buffer.from('past-4-GiB'), 0, 10, at + MARK_AT);
    await data.truncate(at + BIG + 512); // sparse: no 5 GiB on disk
    await data.close();
    const view = encodeView(mergeLayers([layer(...entries)]), [{ blob: 'blobs/sha256/data', size: at + BIG + 512 }]);
    const viewFile = path.join(store, 'views', 'test.v1');
    await writeFile(viewFile, view);
    return viewFile;
  }

  beforeAll(async () => {
    ({ dir: work, cleanup } = await tempDir('lamina-native-mount-'));
    store = path.join(work, 'store');
    mnt = path.join(work, 'mnt');
    await mkdir(path.join(store, 'blobs/sha256'), { recursive: true });
    await mkdir(path.join(store, 'views'));
    await mkdir(mnt);
    await chmod(work, 0o755); // other users must reach the mount point
    random = randomBytes(100 * MiB);
    const c = (s: string | Buffer) => ({ content: Buffer.from(s) });
    const view = await writeStore([
      dir(''), dir('etc'), { ...file('etc/hostname'), ...c('native\n'), mtimeSec: 1700000000, mtimeNsec: 123456789 },
      { ...file('etc/shadow', '', { mode: 0o600 }), ...c('secret\n') }, { ...file('empty'), ...c('') },
      { ...file('random.bin'), content: random }, dir('big'), file('big/five-gib'),
      dir('hard'), { ...file('hard/a'), ...c('two names\n') }, hardlink('hard/b', 'hard/a'),
      symlink('abs-link', '/etc/hostname'), symlink('rel-link', '../../etc/hostname'),
      { ...file('dev-null'), type: 'char', devmajor: 1, devminor: 3, size: 0 }, { ...file('sda1'), type: 'block', devmajor: 8, devminor: 1, size: 0 },
      { ...file('pipe'), type: 'fifo', size: 0 },
      { ...file('x', '', { xattrs: { 'user.text': Buffer.from('hello'), 'user.bin': Buffer.from([0, 1, 2, 255]), 'security.capability': CAP_NET_BIND_SERVICE } }), ...c('x') },
      dir('names'), { ...file('names/with spaces.txt'), ...c('s') }, { ...file('names/ünïcødé-日本語'), ...c('u') }, { ...file(`names/${ODD}`), ...c('bytes') },
      { ...file('setuid', '', { mode: 0o4755 }), ...c('#!/bin/sh\n') },
    ]);
    await startMountServer(mnt, { kind: 'image', root: store, view }, { readOnly: true, fsname: 'lamina:test' }, { runDir: runDir() });
  }, 120_000);

  afterAll(async () => {
    if (work && (await findMount(mnt))) await unmount(mnt, { runDir: runDir() }).catch(() => run('umount', ['-l', mnt]));
    await cleanup?.();
  }, 60_000);

  it('shows as fuse.lamina, read-only, nosuid, nodev, for every user, checked by the kernel', async () => {
    const line = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.includes(` ${mnt} `))!;
    expect(line).toMatch(/ - fuse\.lamina lamina:test /);
    expect(line.split(' ')[5]!.split(',')).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev']));
    expect(line).toMatch(/allow_other/);
    expect(line).toMatch(/default_permissions/);
    const u = await run('setpriv', ['--reuid=1000', '--regid=1000', '--clear-groups', 'sh', '-c', `cat ${m('etc/hostname')}; cat ${m('etc/shadow')}`]);
    expect(u.stdout).toBe('native\n');
    expect(u.stderr).toMatch(/shadow: Permission denied/);
  });

  it('reports ns mtimes, the root as inode 1, one inode and nlink 2 for a hard-link pair', async () => {
    expect(await out('stat', ['-c', '%y|%i', m('etc/hostname'), mnt])).toMatch(/^2023-11-14 22:13:20\.123456789 \+0000\|\d+\n.*\|1\n$/);
    const [a, b] = (await out('stat', ['-c', '%i %h', m('hard/a'), m('hard/b')])).trim().split('\n');
    expect(a).toBe(b);
    expect(a).toMatch(/ 2$/);
  });

  it('reads a 100 MiB file byte for byte at random offsets from another process', async () => {
    const want = createHash('sha256').update(random).digest('hex');
    const got = await py(`
import os, random, hashlib, sys
f = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(f).st_size
chunks = list(range(0, size, 65536 + 4093))
random.seed(7); random.shuffle(chunks)
buf = bytearray(size)
for off in chunks:
    n = min(65536 + 4093, size - off)
    buf[off:off + n] = os.pread(f, n, off)
print(hashlib.sha256(buf).hexdigest(), os.pread(f, 10, size - 5) == os.pread(f, 5, size - 5))`, m('random.bin'));
    expect(got.trim()).toBe(`${want} True`);
    expect((await out('sha256sum', [m('random.bin')])).split(' ')[0]).toBe(want);
    expect(await out('sh', ['-c', `wc -c < ${m('empty')}; cat ${m('empty')}`])).toBe('0\n');
  }, 120_000);

  it('reads a large file cold at odd offsets and sizes without caching the layer tar a second time', async () => {
    const data = path.join(store, 'blobs/sha256/data');
    await runOk('sync', [data]);
    await runOk('dd', [`if=${data}`, 'iflag=nocache', 'count=0', 'status=none']); // the tar's cached pages dropped
    const size = random.length;
    const reads = [[0, 1], [1, 4095], [511, 513], [4095, 2], [12345, 32768], [MiB - 1, 4097], [50 * MiB + 7, 30000],
      [size - 1000, 1000], [size - 1, 1], [size - 32768, 32768]];
    // O_DIRECT on the mount: the kernel passes the caller's offsets and sizes on as READs
    const got = await py(`
import hashlib, json, os, sys
f = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
print(hashlib.sha256(b''.join(os.pread(f, n, off) for off, n in json.loads(sys.argv[2]))).hexdigest())`, m('random.bin'), JSON.stringify(reads));
    const want = createHash('sha256');
    for (const [off, n] of reads) want.update(random.subarray(off, off + n));
    expect(got.trim()).toBe(want.digest('hex'));
    // read around the page cache: the kernel caches these bytes once, for the mount's file
    expect((await out('fincore', ['--bytes', '--noheadings', '--output', 'RES', data])).trim()).toBe('0');
  });

  it('serves a 5 GiB file: size, and bytes past 4 GiB', async () => {
    expect(await out('stat', ['-c', '%s', m('big/five-gib')])).toBe(`${BIG}\n`);
    expect(await py('import os,sys; f=os.open(sys.argv[1], os.O_RDONLY); print(os.pread(f, 10, int(sys.argv[2])).decode(), len(os.pread(f, 100, int(sys.argv[3]))))',
      m('big/five-gib'), String(MARK_AT), String(BIG - 20))).toBe('past-4-GiB 20\n');
  });

  it('returns symlink targets verbatim and shows devices and fifos with their numbers', async () => {
    expect(await out('readlink', [m('abs-link'), m('rel-link')])).toBe('/etc/hostname\n../../etc/hostname\n');
    expect(await out('stat', ['-c', '%F %t:%T', m('dev-null'), m('sda1'), m('pipe')]))
      .toBe('character special file 1:3\nblock special file 8:1\nfifo 0:0\n');
    expect((await run('sh', ['-c', `echo x > ${m('dev-null')}`])).stderr).toMatch(/Read-only file system|Permission denied/);
  });

  it('serves xattrs with binary values, size probes and ERANGE for a short buffer', async () => {
    expect(await out('getfattr', ['-d', '-m', '-', '-e', 'hex', '--absolute-names', m('x')])).toBe([`# file: ${m('x')}`,
      'security.capability=0x0100000200040000000000000000000000000000', 'user.bin=0x000102ff', 'user.text=0x68656c6c6f', '', ''].join('\n'));
    expect(await py(`
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
need = libc.getxattr(sys.argv[1].encode(), b'user.text', None, 0)
buf = ctypes.create_string_buffer(2)
r = libc.getxattr(sys.argv[1].encode(), b'user.text', buf, 2)
print(need, r, os.strerror(ctypes.get_errno()), libc.getxattr(sys.argv[1].encode(), b'user.none', None, 0), os.strerror(ctypes.get_errno()))`, m('x')))
      .toBe('5 -1 Numerical result out of range -1 No data available\n');
  });

  it('keeps names as bytes: spaces, UTF-8 and bytes that are not UTF-8', async () => {
    expect(await py(`
import os, sys
d = sys.argv[1].encode()
for n in sorted(os.listdir(d)):
    print(n.hex(), open(os.path.join(d, n), 'rb').read().decode())`, m('names'))).toBe([
      `${Buffer.from('no-').toString('hex')}fffe${Buffer.from('-utf8').toString('hex')} bytes`,
      `${Buffer.from('with spaces.txt').toString('hex')} s`, `${Buffer.from('ünïcødé-日本語').toString('hex')} u`, ''].join('\n'));
  });

  it('lists with ls -la, answers statfs, and keeps setuid bits from working (nosuid)', async () => {
    const ls = await out('ls', ['-la', mnt]);
    expect(ls).toMatch(/^-rwsr-xr-x 1 root root\s+10 .* setuid$/m);
    expect(ls).toMatch(/^lrwxrwxrwx 1 root root\s+13 .* abs-link -> \/etc\/hostname$/m);
    expect(await out('stat', ['-f', '-c', '%T %S %c', mnt])).toMatch(/^fuseblk 4096 \d+\n$|^fuse 4096 \d+\n$/);
  });
});

describe.runIf(canMount)('lamina-mountd refusing a malformed view', () => {
  it('fails the mount with the reason, mounts nothing and leaves no server', async () => {
    const { dir: work, cleanup } = await tempDir('lamina-native-bad-');
    try {
      const store = path.join(work, 'store');
      const mnt = path.join(work, 'mnt');
      await mkdir(path.join(store, 'views'), { recursive: true });
      await mkdir(mnt);
      const view = encodeView(mergeLayers([layer(dir(''))]), []);
      view.writeUInt32LE(9, H.version);
      await writeFile(path.join(store, 'views/bad.v1'), view);
      await expect(startMountServer(mnt, { kind: 'image', root: store, view: path.join(store, 'views/bad.v1') }, {}, { runDir: path.join(work, 'run') }))
        .rejects.toThrow(/lamina-mountd exited \(status 3\)[^]*version 9, expected 1/);
      expect(await findMount(mnt)).toBeUndefined();
    } finally {
      await cleanup();
    }
  });
});
