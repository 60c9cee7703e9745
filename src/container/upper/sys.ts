import { createRequire } from 'node:module';
import { ImgError } from '../../store/errors.js';
import { FsError } from '../../union/errno.js';

/** The native helper built by scripts/build-native.mjs; every call returns a negative errno on failure. */
interface LaminaSys {
  version: number;
  lgetxattr(path: string, name: string): Buffer | number;
  llistxattr(path: string): string[] | number;
  lsetxattr(path: string, name: string, value: Buffer, flags: number): number;
  lremovexattr(path: string, name: string): number;
  mknod(path: string, mode: number, major: number, minor: number): number;
  renameat2(from: string, to: string, flags: number): number;
  lutimens(path: string, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): number;
}

let loaded: LaminaSys | undefined;
function sys(): LaminaSys {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('lamina-sys') as LaminaSys;
  } catch (err) {
    throw new ImgError('FAILED_PRECONDITION', 'the lamina-sys native helper is not built', { cause: err, hint: 'run `node scripts/build-native.mjs`' });
  }
  return loaded;
}

const ENODATA = 61;
const check = (res: number, what: string): void => {
  if (res < 0) throw new FsError(-res, `${what}: errno ${-res}`);
};

export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const RENAME_WHITEOUT = 4;
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
/** utimensat's special nanosecond values. */
export const UTIME_NOW = 2 ** 30 - 1;
export const UTIME_OMIT = 2 ** 30 - 2;

/** An xattr's value, or undefined when the file has none by that name (ENODATA). */
export function getXattr(path: string, name: string): Buffer | undefined {
  const r = sys().lgetxattr(path, name);
  if (typeof r !== 'number') return r;
  if (r === -ENODATA) return undefined;
  throw new FsError(-r, `lgetxattr ${path} ${name}`);
}

export function listXattrs(path: string): string[] {
  const r = sys().llistxattr(path);
  if (typeof r === 'number') throw new FsError(-r, `llistxattr ${path}`);
  return r;
}

export function setXattr(path: string, name: string, value: Buffer, flags = 0): void {
  check(sys().lsetxattr(path, name, value, flags), `lsetxattr ${path} ${name}`);
}

export function removeXattr(path: string, name: string): void {
  check(sys().lremovexattr(path, name), `lremovexattr ${path} ${name}`);
}

/** mknod(2); `mode` includes the type bits. */
export function mknod(path: string, mode: number, major = 0, minor = 0): void {
  check(sys().mknod(path, mode, major, minor), `mknod ${path}`);
}

export function renameat2(from: string, to: string, flags: number): void {
  check(sys().renameat2(from, to, flags), `renameat2 ${from} ${to}`);
}

/** utimensat(AT_SYMLINK_NOFOLLOW) with nanoseconds; UTIME_NOW/UTIME_OMIT in the nsec slots. */
export function lutimens(path: string, atime: [number, number], mtime: [number, number]): void {
  check(sys().lutimens(path, atime[0], atime[1], mtime[0], mtime[1]), `utimensat ${path}`);
}
