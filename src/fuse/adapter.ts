import { constants as fsc } from 'node:fs';
import os from 'node:os';
import type { DirList, LaminaOps } from './binding.js';
import { fsError, toErrno } from './errno.js';
import { FileHandles } from './handles.js';
import { toStat, toStatfs, type Stat } from './stat.js';
import type { MergedView, Node } from './view.js';

type Cb<R> = (err: number, value?: R) => void;
const { W_OK } = fsc;

/** Wraps an inner function that returns or throws, so the FUSE op replies exactly once. */
function op<A extends unknown[], R>(fn: (...a: A) => R | Promise<R>): (...args: [...A, Cb<R>]) => void {
  return (...args) => {
    const cb = args.pop() as Cb<R>;
    let out: R | Promise<R>;
    try {
      out = fn(...(args as unknown as A));
    } catch (err) {
      return cb(-toErrno(err));
    }
    if (out instanceof Promise) out.then((v) => cb(0, v), (err: unknown) => cb(-toErrno(err)));
    else cb(0, out);
  };
}

/** Like op(), for read: fuse-native takes the byte count in the errno slot. */
function countOp<A extends unknown[]>(fn: (...a: A) => Promise<number>): (...args: [...A, (n: number) => void]) => void {
  return (...args) => {
    const cb = args.pop() as (n: number) => void;
    fn(...(args as unknown as A)).then(cb, (err: unknown) => cb(-toErrno(err)));
  };
}

const erofs = (...args: unknown[]): void => (args[args.length - 1] as (err: number) => void)(-os.constants.errno.EROFS);
const MUTATING = ['write', 'create', 'unlink', 'rmdir', 'mkdir', 'rename', 'link', 'symlink', 'chmod', 'chown',
  'utimens', 'truncate', 'ftruncate', 'setxattr', 'removexattr', 'mknod'] as const;

// Shared instances: misses are hot (PATH searches, ls asking for ACL xattrs) and a stack costs µs.
const ENOENT = fsError('ENOENT');
const ENODATA = fsError('ENODATA');

const childPath = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** FUSE ops over a read-only merged view; close() releases cached data-file descriptors. */
export function createAdapter(view: MergedView): { ops: LaminaOps; close(): Promise<void> } {
  const files = new FileHandles();
  const must = (p: string): Node => view.lookup(p) ?? throwErr(ENOENT);

  function listDir(p: string): DirList {
    const names = view.readdir(p);
    if (!names) {
      must(p);
      throw fsError('ENOTDIR');
    }
    const list: DirList = { names: [], stats: [] };
    for (const name of names) {
      const child = view.lookup(childPath(p, name));
      if (!child) continue;
      list.names.push(name);
      list.stats.push(toStat(child));
    }
    return list;
  }

  function xattr(p: string, name: string): Buffer {
    must(p);
    return view.xattrs(p)[name] ?? throwErr(ENODATA);
  }

  function readlink(p: string): string {
    const node = must(p);
    if (node.type !== 'symlink') throw fsError('EINVAL');
    return node.linkname ?? '';
  }

  const ops = {
    init: op(() => undefined),
    getattr: op((p: string): Stat => toStat(must(p))),
    readdir: op(listDir),
    opendir: op((p: string) => (must(p).type === 'dir' ? 0 : throwErr(fsError('ENOTDIR')))),
    releasedir: op(() => undefined),
    open: op((p: string, flags: number) => files.open(must(p), flags)),
    read: countOp((_p: string, fh: number, buf: Buffer, len: number, pos: number) => files.read(fh, buf, len, pos)),
    release: op((_p: string, fh: number) => files.release(fh)),
    readlink: op(readlink),
    statfs: op(() => toStatfs(view.stats())),
    getxattr: op(xattr),
    listxattr: op((p: string) => {
      must(p);
      return Object.keys(view.xattrs(p));
    }),
    access: op((p: string, mode: number) => {
      must(p);
      if (mode & W_OK) throw fsError('EROFS');
    }),
    ...Object.fromEntries(MUTATING.map((name) => [name, erofs])),
  };
  return { ops: ops as unknown as LaminaOps, close: () => files.close() };
}

function throwErr(err: Error): never {
  throw err;
}
