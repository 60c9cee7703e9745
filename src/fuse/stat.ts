import { constants as fsc } from 'node:fs';
import type { Node, NodeType } from '../union/view.js';

/** What getattr answers, before the binding encodes it. */
export interface Stat {
  ino: number;
  /** Type bits | permission bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  rdev: number;
  blksize: number;
  /** 512-byte units. */
  blocks: number;
  mtimeSec: number;
  mtimeNsec: number;
}

const TYPE_BITS: Record<NodeType, number> = {
  file: fsc.S_IFREG,
  dir: fsc.S_IFDIR,
  symlink: fsc.S_IFLNK,
  char: fsc.S_IFCHR,
  block: fsc.S_IFBLK,
  fifo: fsc.S_IFIFO,
};

/** glibc's makedev(); exact for majors < 4096 and minors < 2^20 (FUSE's rdev is 32 bits anyway). */
export function makedev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** The stat of a merged-view node: atime and ctime repeat mtime (tars record only mtime). */
export function toStat(node: Node): Stat {
  const size = node.type === 'symlink' ? Buffer.byteLength(node.linkname ?? '') : node.size;
  const isDev = node.type === 'char' || node.type === 'block';
  return {
    ino: node.ino,
    mode: TYPE_BITS[node.type] | (node.mode & 0o7777),
    uid: node.uid,
    gid: node.gid,
    size,
    nlink: node.nlink,
    rdev: isDev ? makedev(node.devmajor ?? 0, node.devminor ?? 0) : 0,
    blksize: 4096,
    blocks: node.type === 'file' ? Math.ceil(size / 512) : 0,
    mtimeSec: node.mtimeSec,
    mtimeNsec: node.mtimeNsec,
  };
}

/** Ints per stat in fuse-native's own layout (times in ms, 32-bit ino). */
export const LEGACY_STAT_INTS = 18;
/** Ints per stat in the patched layout (see scripts/patch-fuse-native.mjs): 64-bit ino, sec + nsec. */
export const WIDE_STAT_INTS = 22;

const TWO32 = 2 ** 32;

function put64(ints: Uint32Array, i: number, n: number): number {
  const hi = Math.floor(n / TWO32);
  ints[i] = n - hi * TWO32;
  ints[i + 1] = hi; // a negative hi wraps to two's complement, which the C side reads as int64
  return i + 2;
}

/** fuse-native's stock layout; sub-millisecond time and inode bits above 32 are lost. */
export function encodeLegacyStat(st: Stat): Uint32Array {
  const ints = new Uint32Array(LEGACY_STAT_INTS);
  ints.set([st.mode, st.uid, st.gid]);
  put64(ints, 3, st.size);
  ints.set([0, st.nlink, st.ino, st.rdev, st.blksize], 5);
  put64(ints, 10, st.blocks);
  const ms = Math.max(0, st.mtimeSec * 1000 + Math.floor(st.mtimeNsec / 1e6));
  for (const i of [12, 14, 16]) put64(ints, i, ms);
  return ints;
}

/** The patched layout: everything the kernel's fuse_attr can carry. */
export function encodeWideStat(st: Stat): Uint32Array {
  const ints = new Uint32Array(WIDE_STAT_INTS);
  ints.set([st.mode, st.uid, st.gid]);
  put64(ints, 3, st.size);
  ints.set([0, st.nlink], 5);
  put64(ints, 7, st.ino);
  ints.set([st.rdev, st.blksize], 9);
  put64(ints, 11, st.blocks);
  for (const i of [13, 16, 19]) ints[put64(ints, i, st.mtimeSec)] = st.mtimeNsec;
  return ints;
}

/** statfs as fuse-native wants it; its fields are 32-bit, so counts are clamped. */
export function toStatfs(stats: { files: number; bytes: number }): Record<string, number> {
  const clamp = (n: number) => Math.min(n, TWO32 - 1);
  return {
    bsize: 4096,
    frsize: 4096,
    blocks: clamp(Math.ceil(stats.bytes / 4096)),
    bfree: 0,
    bavail: 0,
    files: clamp(stats.files),
    ffree: 0,
    favail: 0,
    fsid: 0,
    flag: 0,
    namemax: 255,
  };
}
