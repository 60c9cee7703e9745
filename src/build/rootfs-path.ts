// Paths inside an image's root directory, resolved as the container would see them: a
// symlink's target is taken relative to the root (an absolute link never reaches the host's
// own tree), and `..` never climbs above the root. COPY, ADD and WORKDIR write through these.
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { ImgError } from '../store/errors.js';

const MAX_LINKS = 40; // Linux's MAXSYMLINKS

const parts = (p: string) => p.split('/').filter((x) => x !== '' && x !== '.');

/**
 * The host path of container path `p` under `root`, following every symlink on the way as if
 * `root` were `/`. The last component is followed too unless `followLast` is false. Missing
 * components are kept as named, so the result can be created.
 */
export async function resolveIn(root: string, p: string, followLast = true): Promise<string> {
  const done: string[] = [];
  const todo = parts(p);
  let links = 0;
  while (todo.length) {
    const name = todo.shift()!;
    if (name === '..') {
      done.pop();
      continue;
    }
    const host = path.join(root, ...done, name);
    const st = await lstat(host).catch(() => undefined);
    if (!st?.isSymbolicLink() || (!followLast && todo.length === 0)) {
      done.push(name);
      continue;
    }
    if (++links > MAX_LINKS) throw new ImgError('INVALID_ARGUMENT', `${p}: too many levels of symbolic links`);
    const target = await readlink(host);
    if (target.startsWith('/')) done.length = 0;
    todo.unshift(...parts(target));
  }
  return path.join(root, ...done);
}

/** `p` relative to `root` as a container path (`/a/b`), for messages and layer names. */
export const containerPath = (root: string, host: string): string => `/${path.relative(root, host)}`;
