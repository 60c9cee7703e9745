import { createRequire } from 'node:module';
import { ImgError } from '../../store/errors.js';
import { FsError } from '../../union/errno.js';

/** The native helper built by scripts/build-native.mjs; every call returns a negative errno on failure. */
interface LaminaSys {
  version: number;
  lgetxattr(path: string | Buffer, name: string): Buffer | number;
  llistxattr(path: string | Buffer): string[] | number;
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

/** An xattr's value, or undefined when the file has none by that name (ENODATA). */
export function getXattr(path: string | Buffer, name: string): Buffer | undefined {
  const r = sys().lgetxattr(path, name);
  if (typeof r !== 'number') return r;
  if (r === -ENODATA) return undefined;
  throw new FsError(-r, `lgetxattr ${path} ${name}`);
}

export function listXattrs(path: string | Buffer): string[] {
  const r = sys().llistxattr(path);
  if (typeof r === 'number') throw new FsError(-r, `llistxattr ${path}`);
  return r;
}
