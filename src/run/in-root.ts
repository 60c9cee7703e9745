// Reading files of an image or a running container from the host without leaving its root:
// an image is hostile, and its /etc/passwd may be a link to the host's /etc/shadow.
import { closeSync, fstatSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { ImgError } from '../store/errors.js';

interface InRoot { openInRoot(root: string, path: string): number }

let sys: InRoot | undefined;
function native(): InRoot {
  try {
    sys ??= createRequire(import.meta.url)('lamina-sys') as InRoot;
  } catch (err) {
    throw new ImgError('FAILED_PRECONDITION', 'the lamina-sys native helper is not built', { cause: err, hint: 'run `node scripts/build-native.mjs`' });
  }
  return sys;
}

const errnoName = (n: number) => Object.entries(os.constants.errno).find(([, v]) => v === n)?.[0] ?? `errno ${n}`;

/**
 * The contents of regular file `file`, resolved inside `root` as if it were "/" (symlinks and ".."
 * stay inside); undefined when it does not exist. Anything but a regular file, or a file over
 * `maxBytes`, is refused.
 */
export function readFileInRoot(root: string, file: string, maxBytes = 4 << 20): string | undefined {
  const fd = native().openInRoot(root, file);
  if (fd === -os.constants.errno.ENOENT || fd === -os.constants.errno.ENOTDIR) return undefined;
  if (fd < 0) throw new ImgError('FAILED_PRECONDITION', `reading ${file} in the container: ${errnoName(-fd)}`);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ImgError('FAILED_PRECONDITION', `reading ${file} in the container: not a regular file`);
    if (st.size > maxBytes) throw new ImgError('FAILED_PRECONDITION', `reading ${file} in the container: over ${maxBytes} bytes`);
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
