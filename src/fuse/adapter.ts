import { constants as fsc } from 'node:fs';
import os from 'node:os';
import type { DirList, LaminaOps } from './binding.js';
import { fsError, toErrno } from '../union/errno.js';
import { FileHandles } from './handles.js';
import { toStat, toStatfs, type Stat } from './stat.js';
import { UTIME_NOW } from '../container/upper/sys.js';
import { isWritable, type MergedView, type Node, type Owner, type WritableView } from '../union/view.js';

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

/** fuse-native hands utimens times as ms; UTIME_NOW and UTIME_OMIT (sec 0) both arrive as 1073 ms. */
function timespec(ms: number): [number, number] {
  if (ms === 1073) return [0, UTIME_NOW]; // `touch` sends *_NOW; libfuse2 cannot tell us OMIT apart
  const sec = Math.floor(ms / 1000);
  return [sec, Math.round((ms - sec * 1000) * 1e6)];
}

/** The ops that change a writable view; each maps one FUSE call onto the view or a handle. */
function writeOps(view: WritableView, files: FileHandles) {
  return {
    create: op(async (p: string, mode: number, who?: Owner) => files.openHost(await view.create(p, mode, who), fsc.O_RDWR)),
    write: countOp((_p: string, fh: number, buf: Buffer, len: number, pos: number) => files.write(fh, buf, len, pos)),
    truncate: op((p: string, size: number) => view.truncate(p, size)),
    ftruncate: op((_p: string, fh: number, size: number) => files.truncate(fh, size)),
    fsync: op((_p: string, datasync: number, fh: number) => files.fsync(fh, !!datasync)),
    unlink: op((p: string) => view.unlink(p)),
    rmdir: op((p: string) => view.rmdir(p)),
    mkdir: op((p: string, mode: number, who?: Owner) => view.mkdir(p, mode, who)),
    mknod: op((p: string, mode: number, dev: number, who?: Owner) => view.mknod(p, mode, dev, who)),
    symlink: op((target: string, p: string, who?: Owner) => view.symlink(target, p, who)),
    link: op((from: string, to: string) => view.link(from, to)),
    rename: op((from: string, to: string) => view.rename(from, to)),
    chmod: op((p: string, mode: number) => view.chmod(p, mode)),
    chown: op((p: string, uid: number, gid: number) => view.chown(p, uid, gid)),
    utimens: op((p: string, atime: number, mtime: number) => view.utimens(p, timespec(atime), timespec(mtime))),
    setxattr: op((p: string, name: string, value: Buffer, _pos: number, flags: number) => view.setxattr(p, name, Buffer.from(value), flags)),
    removexattr: op((p: string, name: string) => view.removexattr(p, name)),
  };
}

const clampStatfs = (t: object) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.min(v as number, 2 ** 32 - 1)]));

/**
 * FUSE ops over a merged view: read-only views answer EROFS to every change, writable
 * ones (containers) get writeOps. close() releases cached data-file descriptors.
 */
export function createAdapter(view: MergedView): { ops: LaminaOps; close(): Promise<void> } {
  const files = new FileHandles();
  const must = (p: string): Node => view.lookup(p) ?? throwErr(ENOENT);

  function listDir(p: string): DirList {
    const names = view.readdir(p);
    if (!names) {
      must(p);
      throw fsError('ENOTDIR');
    }
    // The filesystem supplies . and .. (libfuse does not), or `ls -a` omits them; the root's .. is itself.
    const parent = p === '/' ? p : p.slice(0, Math.max(p.lastIndexOf('/'), 1));
    const list: DirList = { names: ['.', '..'], stats: [toStat(must(p)), toStat(must(parent))] };
    for (const name of names) {
      const child = view.lookup(childPath(p, name));
      if (!child) continue;
      list.names.push(name);
      list.stats.push(toStat(child));
    }
    return list;
  }

  function xattr(p: string, name: string): Buffer {
    if (view.xattr) return view.xattr(p, name) ?? throwErr(ENODATA);
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
    open: op(async (p: string, flags: number) => {
      if (!isWritable(view)) return files.open(must(p), flags);
      const target = await view.open(p, flags);
      return 'host' in target ? files.openHost(target.host, flags) : files.open(target.node, flags);
    }),
    read: countOp((_p: string, fh: number, buf: Buffer, len: number, pos: number) => files.read(fh, buf, len, pos)),
    release: op((_p: string, fh: number) => files.release(fh)),
    readlink: op(readlink),
    statfs: op(async () => (isWritable(view) ? { ...toStatfs(view.stats()), ...clampStatfs(await view.statfs()) } : toStatfs(view.stats()))),
    getxattr: op(xattr),
    listxattr: op((p: string) => {
      must(p);
      return Object.keys(view.xattrs(p));
    }),
    access: op((p: string, mode: number) => {
      must(p);
      if (mode & W_OK && !isWritable(view)) throw fsError('EROFS');
    }),
    ...(isWritable(view) ? writeOps(view, files) : Object.fromEntries(MUTATING.map((name) => [name, erofs]))),
  };
  return { ops: ops as unknown as LaminaOps, close: () => files.close() };
}

function throwErr(err: Error): never {
  throw err;
}
