import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { encodeLegacyStat, encodeWideStat, type Stat } from './stat.js';

const require = createRequire(import.meta.url);
const { ERANGE, EIO } = os.constants.errno;

/** fuse-native's reply: errno (negative) or a result code, then op-specific values. */
type Signal = (res: number, ...values: unknown[]) => void;

/** A callback taking a negative errno (or 0) and the op's result. */
export type Reply<T> = (err: number, value?: T) => void;

/** Children of a directory with their stats, in the same order. */
export interface DirList {
  names: string[];
  stats: Stat[];
}

/** The ops LaminaFuse re-encodes; every other op keeps fuse-native's shape. */
export interface LaminaOps {
  getattr(path: string, cb: Reply<Stat>): void;
  create(path: string, mode: number, caller: Caller | undefined, cb: Reply<number>): void;
  mkdir(path: string, mode: number, caller: Caller | undefined, cb: Reply<void>): void;
  mknod(path: string, mode: number, dev: number, caller: Caller | undefined, cb: Reply<void>): void;
  symlink(target: string, path: string, caller: Caller | undefined, cb: Reply<void>): void;
  readdir(path: string, cb: Reply<DirList>): void;
  getxattr(path: string, name: string, position: number, cb: Reply<Buffer>): void;
  listxattr(path: string, cb: Reply<string[]>): void;
  [op: string]: (...args: never[]) => void;
}

interface FuseNative {
  ops: LaminaOps;
  mount(cb: (err: Error | null) => void): void;
}
type FuseNativeClass = new (mnt: string, ops: object, opts: object) => FuseNative;

const FuseNativeBase = require('fuse-native') as FuseNativeClass;
const fuseNativeRequire = createRequire(require.resolve('fuse-native'));
const binding = fuseNativeRequire('node-gyp-build')(path.dirname(require.resolve('fuse-native/package.json'))) as {
  lamina_stat_wide?: number;
  lamina_caller?: number;
};

/** Who asked for a new entry (its owner-to-be); undefined with a stock fuse-native build. */
export interface Caller {
  uid: number;
  gid: number;
}
const callerOf = (uid: unknown, gid: unknown): Caller | undefined =>
  binding.lamina_caller === 1 && typeof uid === 'number' && typeof gid === 'number' ? { uid, gid } : undefined;

/**
 * 'wide' when fuse-native was rebuilt by scripts/patch-fuse-native.mjs (ns times, 64-bit ino);
 * LAMINA_FUSE_STAT=legacy forces the stock layout.
 */
export const statLayout: 'wide' | 'legacy' =
  binding.lamina_stat_wide === 22 && process.env.LAMINA_FUSE_STAT !== 'legacy' ? 'wide' : 'legacy';
const encodeStat = statLayout === 'wide' ? encodeWideStat : encodeLegacyStat;
const NO_STAT = encodeLegacyStat({ ino: 0, mode: 0, uid: 0, gid: 0, size: 0, nlink: 1, rdev: 0, blksize: 0, blocks: 0, mtimeSec: 0, mtimeNsec: 0 });

/**
 * fuse-native with our own option string, stat encoding and xattr size handling.
 * The stock class drops options it does not know (use_ino, ro, negative_timeout),
 * encodes times in ms, and overruns short xattr buffers instead of answering ERANGE.
 */
export class LaminaFuse extends FuseNativeBase {
  private readonly optionList: readonly string[];

  constructor(mnt: string, ops: LaminaOps, options: readonly string[]) {
    super(mnt, ops, {});
    this.optionList = options;
  }

  /** Promise form of mount(); resolves once the kernel's INIT has been answered. */
  mountAsync(): Promise<void> {
    return new Promise((resolve, reject) => this.mount((err) => (err ? reject(err) : resolve())));
  }

  _fuseOptions(): string {
    return this.optionList.length ? `-o${this.optionList.join(',')}` : '';
  }

  // The patched addon appends the caller's uid and gid to the ops that create entries.
  _op_create(signal: Signal, p: string, mode: number, uid?: number, gid?: number): void {
    this.ops.create(p, mode, callerOf(uid, gid), (err: number, fd?: number) => signal(err, fd));
  }

  _op_mkdir(signal: Signal, p: string, mode: number, uid?: number, gid?: number): void {
    this.ops.mkdir(p, mode, callerOf(uid, gid), (err: number) => signal(err));
  }

  _op_mknod(signal: Signal, p: string, mode: number, dev: number, uid?: number, gid?: number): void {
    this.ops.mknod(p, mode, dev, callerOf(uid, gid), (err: number) => signal(err));
  }

  _op_symlink(signal: Signal, target: string, p: string, uid?: number, gid?: number): void {
    this.ops.symlink(target, p, callerOf(uid, gid), (err: number) => signal(err));
  }

  _op_getattr(signal: Signal, p: string): void {
    this.ops.getattr(p, (err, st) => (err || !st ? signal(err || -EIO, NO_STAT) : signal(0, encodeStat(st))));
  }

  _op_readdir(signal: Signal, p: string): void {
    this.ops.readdir(p, (err, list) => (err || !list ? signal(err || -EIO) : signal(0, list.names, list.stats.map(encodeStat))));
  }

  _op_getxattr(signal: Signal, p: string, name: string, buf: Buffer, position: number): void {
    this.ops.getxattr(p, name, position, (err, value) => {
      if (err || !value) return signal(err || -EIO, buf.buffer);
      if (buf.length === 0) return signal(value.length, buf.buffer); // size probe
      if (value.length > buf.length) return signal(-ERANGE, buf.buffer);
      value.copy(buf);
      signal(value.length, buf.buffer);
    });
  }

  _op_listxattr(signal: Signal, p: string, buf: Buffer): void {
    this.ops.listxattr(p, (err, names) => {
      if (err || !names) return signal(err || -EIO, buf.buffer);
      const list = Buffer.from(names.map((n) => `${n}\0`).join(''));
      if (buf.length === 0) return signal(list.length, buf.buffer); // size probe
      if (list.length > buf.length) return signal(-ERANGE, buf.buffer);
      list.copy(buf);
      signal(list.length, buf.buffer);
    });
  }
}
