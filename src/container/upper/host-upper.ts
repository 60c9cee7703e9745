// The writable layer on the host: a directory in Linux overlayfs' upperdir format.
// Metadata syscalls here are synchronous on purpose: they take microseconds on a
// local filesystem (like the index's point queries) and keep each mutation atomic
// with respect to other FUSE ops on the JS thread. Data moves in copy-up.ts (async).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { NodeType, Node } from '../../union/view.js';
import { LAMINA_INO, OVL_METACOPY, OVL_OPAQUE, OVL_REDIRECT, UPPER_INO_BASE, isInternalXattr, type UpperEntry, type UpperSource } from '../../union/container.js';
import { getXattr, listXattrs, lutimens, mknod, renameat2, RENAME_WHITEOUT, setXattr, UTIME_OMIT } from './sys.js';

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK } = fs.constants;

const TYPES = new Map<number, NodeType>([[S_IFREG, 'file'], [S_IFDIR, 'dir'], [S_IFLNK, 'symlink'], [S_IFCHR, 'char'],
  [S_IFBLK, 'block'], [S_IFIFO, 'fifo'], [S_IFSOCK, 'fifo']]);
export const TYPE_BITS: Record<NodeType, number> = { file: S_IFREG, dir: S_IFDIR, symlink: S_IFLNK, char: S_IFCHR, block: S_IFBLK, fifo: S_IFIFO };

// glibc's major()/minor() for a 64-bit dev_t.
const major = (d: bigint) => Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn & 0xffffffffn));
const minor = (d: bigint) => Number((d & 0xffn) | ((d >> 12n) & ~0xffn & 0xffffffffn));

/** Metadata an entry is created or copied up with. */
export interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtimeSec: number;
  mtimeNsec: number;
  xattrs: Record<string, Buffer>;
  /** Inode number to keep (a copied-up entry's lower ino). */
  ino?: number;
}

export class HostUpper implements UpperSource {
  readonly tmpDir: string;

  constructor(readonly root: string, readonly work: string) {
    this.tmpDir = `${work}/lamina`;
    fs.mkdirSync(this.tmpDir, { recursive: true });
  }

  /** Host path of merged path `p`. */
  host(p: string): string {
    return p === '/' ? this.root : this.root + p;
  }

  /** A fresh name in the work dir (same filesystem as the upper dir, so renames are atomic). */
  tmp(): string {
    return `${this.tmpDir}/${randomUUID()}`;
  }

  probe(p: string): UpperEntry | undefined {
    const h = this.host(p);
    const st = fs.lstatSync(h, { bigint: true, throwIfNoEntry: false });
    if (!st) return undefined;
    const fmt = Number(st.mode) & S_IFMT;
    if (fmt === S_IFCHR && st.rdev === 0n) return { node: this.toNode(h, st, {}), whiteout: true, opaque: false, metacopy: false };
    const names = fmt === S_IFLNK ? [] : listXattrs(h);
    const x: Record<string, Buffer> = {};
    for (const n of names) if (n === OVL_OPAQUE || n === OVL_REDIRECT || n === OVL_METACOPY || n === LAMINA_INO) x[n] = getXattr(h, n) ?? Buffer.alloc(0);
    return {
      node: this.toNode(h, st, x),
      whiteout: false,
      opaque: fmt === S_IFDIR && x[OVL_OPAQUE]?.toString() === 'y',
      metacopy: fmt === S_IFREG && x[OVL_METACOPY] !== undefined,
      redirect: x[OVL_REDIRECT]?.toString(),
    };
  }

  names(p: string): string[] {
    try {
      return fs.readdirSync(this.host(p));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw err;
    }
  }

  private toNode(h: string, st: fs.BigIntStats, x: Record<string, Buffer>): Node {
    const type = TYPES.get(Number(st.mode) & S_IFMT) ?? 'file';
    const kept = x[LAMINA_INO] ? Number(x[LAMINA_INO].toString()) : NaN;
    return {
      ino: Number.isFinite(kept) && kept > 0 ? kept : UPPER_INO_BASE + Number(st.ino),
      type, mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size),
      mtimeSec: Number(st.mtimeNs / 1_000_000_000n), mtimeNsec: Number(st.mtimeNs % 1_000_000_000n), nlink: Number(st.nlink),
      linkname: type === 'symlink' ? fs.readlinkSync(h) : undefined,
      devmajor: type === 'char' || type === 'block' ? major(st.rdev) : undefined,
      devminor: type === 'char' || type === 'block' ? minor(st.rdev) : undefined,
    };
  }

  /** User-visible xattrs of the upper entry at `p`. */
  xattrs(p: string): Record<string, Buffer> {
    const h = this.host(p);
    const out: Record<string, Buffer> = {};
    for (const n of listXattrs(h)) {
      if (isInternalXattr(n)) continue;
      const v = getXattr(h, n);
      if (v) out[n] = v;
    }
    return out;
  }

  /** Applies owner, xattrs, kept ino and mtime to a fresh host entry (not following symlinks). */
  applyMeta(h: string, type: NodeType, m: Meta): void {
    fs.lchownSync(h, m.uid, m.gid);
    if (type !== 'symlink') fs.chmodSync(h, m.mode & 0o7777); // after chown, which clears setuid bits
    if (type !== 'symlink') for (const [n, v] of Object.entries(m.xattrs)) if (!isInternalXattr(n)) setXattr(h, n, v);
    if (m.ino !== undefined && type !== 'symlink') setXattr(h, LAMINA_INO, Buffer.from(String(m.ino)));
    lutimens(h, [0, UTIME_OMIT], [m.mtimeSec, m.mtimeNsec]);
  }

  /** Creates a node of `type` at host path `h` (not a regular file's data; not a dir's contents). */
  makeNode(h: string, type: NodeType, mode: number, extra: { linkname?: string; devmajor?: number; devminor?: number; size?: number }): void {
    if (type === 'dir') fs.mkdirSync(h, { mode: mode & 0o7777 });
    else if (type === 'symlink') fs.symlinkSync(extra.linkname ?? '', h);
    else if (type === 'file') {
      fs.closeSync(fs.openSync(h, 'wx', mode & 0o7777));
      if (extra.size) fs.truncateSync(h, extra.size);
    } else mknod(h, TYPE_BITS[type] | (mode & 0o7777), extra.devmajor ?? 0, extra.devminor ?? 0);
  }

  /** Moves a prepared entry from the work dir to merged path `p`, replacing a non-directory there. */
  place(tmp: string, p: string): void {
    fs.renameSync(tmp, this.host(p));
  }

  /** Puts a whiteout (char 0/0) at `p`, replacing any non-directory there atomically (`replace` false: nothing is there). */
  whiteout(p: string, replace = true): void {
    if (!replace) return mknod(this.host(p), S_IFCHR | 0o000, 0, 0);
    const t = this.tmp();
    mknod(t, S_IFCHR | 0o000, 0, 0);
    fs.renameSync(t, this.host(p));
  }

  /** rename(2) inside the upper dir; with `whiteout`, leaves a whiteout at the source atomically. */
  rename(from: string, to: string, whiteout: boolean): void {
    if (!whiteout) return fs.renameSync(this.host(from), this.host(to));
    try {
      renameat2(this.host(from), this.host(to), RENAME_WHITEOUT);
    } catch {
      fs.renameSync(this.host(from), this.host(to)); // filesystems without RENAME_WHITEOUT
      this.whiteout(from);
    }
  }

  /** Removes the entry at `p` (a directory must already be empty on the host). */
  remove(p: string): void {
    const h = this.host(p);
    const st = fs.lstatSync(h, { throwIfNoEntry: false });
    if (st?.isDirectory()) fs.rmdirSync(h);
    else if (st) fs.unlinkSync(h);
  }

  /** Keeps a directory's mtime across a change made for a copy-up (overlayfs does the same). */
  keepTimes<T>(p: string, fn: () => T): T {
    const st = fs.lstatSync(this.host(p), { bigint: true });
    const out = fn();
    lutimens(this.host(p), [0, UTIME_OMIT], [Number(st.mtimeNs / 1_000_000_000n), Number(st.mtimeNs % 1_000_000_000n)]);
    return out;
  }
}
