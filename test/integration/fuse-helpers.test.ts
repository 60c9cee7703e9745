// Pure checks of the FUSE helpers (no mount); they belong in test/unit/fuse once that folder is ours.
import { describe, expect, it } from 'vitest';
import { parseMountInfo } from '../../src/fuse/mountinfo.js';
import { mountOptions } from '../../src/fuse/mount-options.js';
import { encodeLegacyStat, encodeWideStat, makedev, toStat, toStatfs } from '../../src/fuse/stat.js';
import type { Node } from '../../src/union/view.js';

const node = (n: Partial<Node>): Node => ({ ino: 5, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0,
  mtimeSec: 1_700_000_000, mtimeNsec: 123_456_789, nlink: 1, ...n });

describe('toStat', () => {
  it.each([
    [node({ type: 'file', mode: 0o4755, size: 1025 }), 0o104755, 1025, 3],
    [node({ type: 'dir', mode: 0o1777 }), 0o41777, 0, 0],
    [node({ type: 'symlink', mode: 0o777, linkname: 'ü/x' }), 0o120777, 4, 0],
    [node({ type: 'fifo' }), 0o10644, 0, 0],
  ])('%#: mode, size, blocks', (n, mode, size, blocks) => {
    expect(toStat(n)).toMatchObject({ mode, size, blocks, blksize: 4096 });
  });

  it('encodes device numbers like glibc makedev', () => {
    expect(toStat(node({ type: 'char', devmajor: 1, devminor: 3 })).rdev).toBe(0x103);
    expect(makedev(8, 300)).toBe(0x10082c);
    expect(makedev(4095, 2 ** 20 - 1)).toBe(0xffffffff);
  });
});

describe('stat layouts', () => {
  const st = toStat(node({ ino: 2 ** 40 + 5, size: 5 * 2 ** 30, mtimeSec: -1, mtimeNsec: 7 }));

  it('wide: 64-bit ino, signed seconds, nanoseconds', () => {
    const w = encodeWideStat(st);
    expect(w.length).toBe(22);
    expect([w[7], w[8]]).toEqual([5, 256]);
    expect([w[3], w[4]]).toEqual([2 ** 30, 1]);
    expect([w[16], w[17], w[18]]).toEqual([0xffffffff, 0xffffffff, 7]); // mtime = -1 s + 7 ns
  });

  it('legacy: ms and a truncated ino, times before 1970 clamped', () => {
    const l = encodeLegacyStat(toStat(node({ ino: 2 ** 32 + 9 })));
    expect(l.length).toBe(18);
    expect(l[7]).toBe(9);
    expect(l[14] + l[15] * 2 ** 32).toBe(1_700_000_000_123);
    expect(encodeLegacyStat(st)[14]).toBe(0);
  });

  it('statfs clamps to 32 bits', () => {
    expect(toStatfs({ files: 2 ** 33, bytes: 4096 * 3 + 1 })).toMatchObject({ blocks: 4, files: 2 ** 32 - 1, namemax: 255 });
  });
});

describe('parseMountInfo', () => {
  it('unescapes mount points and reads type and source', () => {
    const text = '42 27 0:39 / /tmp/a\\040b ro,nosuid - fuse.lamina lamina ro,user_id=0\n'
      + '36 25 0:31 / /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw\n';
    expect(parseMountInfo(text)).toEqual([
      { mountPoint: '/tmp/a b', fstype: 'fuse.lamina', source: 'lamina' },
      { mountPoint: '/sys/fs/cgroup', fstype: 'cgroup2', source: 'cgroup2' },
    ]);
  });
});

describe('mountOptions', () => {
  it('defaults to a read-only, long-cached, kernel-checked mount', () => {
    expect(mountOptions()).toEqual(['fsname=lamina', 'subtype=lamina', 'allow_other', 'default_permissions', 'use_ino',
      'nonempty', 'ro', 'entry_timeout=86400', 'attr_timeout=86400', 'negative_timeout=86400', 'kernel_cache']);
  });

  it('keeps option syntax out of fsname', () => {
    expect(mountOptions({ fsname: 'a,b=c d', readOnly: false, cache: 'off' })).toEqual(['fsname=a_b_c_d', 'subtype=lamina',
      'allow_other', 'default_permissions', 'use_ino', 'nonempty', 'suid', 'dev', 'big_writes', 'atomic_o_trunc', 'entry_timeout=0', 'attr_timeout=0', 'negative_timeout=0']);
  });

  it('keeps no page cache across opens and short attr timeouts on writable mounts', () => {
    expect(mountOptions({ readOnly: false }).slice(-9)).toEqual(['suid', 'dev', 'big_writes', 'atomic_o_trunc', 'entry_timeout=86400', 'negative_timeout=86400',
      'attr_timeout=0.1', 'auto_cache', 'ac_attr_timeout=0']);
  });
});
