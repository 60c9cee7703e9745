/** Layout constants of the view file, version 1 (docs/view-format.md); shared by the encoder and the reader. */

export const VIEW_MAGIC = Buffer.from('LAMVIEW\n', 'latin1');
export const VIEW_VERSION = 1;
export const HEADER_SIZE = 128;
export const LAYER_SIZE = 16;
export const INODE_SIZE = 80;
export const DIRENT_SIZE = 16;
export const LINK_SIZE = 16;
export const NO_LAYER = 0xffffffff;
export const MAX_NAME = 255;
export const MAX_XATTR_VALUE = 65536;

/** Header field offsets. */
export const H = {
  magic: 0, version: 8, headerSize: 12, fileSize: 16, layerCount: 24, flags: 28, inodeCount: 32, direntCount: 40,
  layersOff: 48, inodesOff: 56, direntsOff: 64, namesOff: 72, namesSize: 80, xattrsOff: 88, xattrsSize: 96,
  linksOff: 104, linkCount: 112, fileBytes: 120,
} as const;

/** Inode record field offsets. */
export const I = {
  mode: 0, uid: 4, gid: 8, nlink: 12, size: 16, mtimeSec: 24, mtimeNsec: 32, layer: 36, data: 40, parent: 48,
  xattrOff: 56, xattrLen: 64,
} as const;

export const S_IFMT = 0o170000;
export const TYPE_BITS = { fifo: 0o010000, char: 0o020000, dir: 0o040000, block: 0o060000, file: 0o100000, symlink: 0o120000 } as const;
export type ViewNodeType = keyof typeof TYPE_BITS;
export const DT = { fifo: 1, char: 2, dir: 4, block: 6, file: 8, symlink: 10 } as const;

export const typeOfMode = (mode: number): ViewNodeType | undefined =>
  (Object.keys(TYPE_BITS) as ViewNodeType[]).find((t) => TYPE_BITS[t] === (mode & S_IFMT));

/** Linux's 64-bit makedev (glibc's encoding), so rdev means the same to the C server. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

export function splitdev(dev: bigint): { major: number; minor: number } {
  const major = Number(((dev >> 32n) & 0xfffff000n) | ((dev >> 8n) & 0xfffn));
  const minor = Number(((dev >> 12n) & 0xffffff00n) | (dev & 0xffn));
  return { major, minor };
}

/** Name order in a directory: bytes compared, the shorter name first on a tie (as memcmp then length). */
export const compareNames = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);
