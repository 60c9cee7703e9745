// The writable layer on the host, read for commit, diff and export: a directory in Linux
// overlayfs' upperdir format, as native/lamina-mountd writes it. Names are bytes on disk;
// paths cross into fs calls as Buffers so that names that are not UTF-8 survive.
import fs from 'node:fs';
import { decodeFsName, encodeFsName } from '../../store/fs-name.js';
import type { NodeType, Node } from '../../union/view.js';
import { LAMINA_INO, OVL_METACOPY, OVL_OPAQUE, OVL_REDIRECT, UPPER_INO_BASE, isInternalXattr, type UpperEntry, type UpperSource } from '../../union/container.js';
import { getXattr, listXattrs } from './sys.js';

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK } = fs.constants;

const TYPES = new Map<number, NodeType>([[S_IFREG, 'file'], [S_IFDIR, 'dir'], [S_IFLNK, 'symlink'], [S_IFCHR, 'char'],
  [S_IFBLK, 'block'], [S_IFIFO, 'fifo'], [S_IFSOCK, 'fifo']]);

// glibc's major()/minor() for a 64-bit dev_t.
const major = (d: bigint) => Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn & 0xffffffffn));
const minor = (d: bigint) => Number((d & 0xffn) | ((d >> 12n) & ~0xffn & 0xffffffffn));

export class HostUpper implements UpperSource {
  private readonly rootBytes: Buffer;

  constructor(readonly root: string, readonly work: string) {
    this.rootBytes = Buffer.from(root);
  }

  /** Host path of merged path `p` (bytes). */
  host(p: string): Buffer {
    return p === '/' ? this.rootBytes : Buffer.concat([this.rootBytes, encodeFsName(p)]);
  }

  probe(p: string): UpperEntry | undefined {
    const h = this.host(p);
    const st = fs.lstatSync(h, { bigint: true, throwIfNoEntry: false });
    if (!st) return undefined;
    const fmt = Number(st.mode) & S_IFMT;
    if (fmt === S_IFCHR && st.rdev === 0n) return { node: this.toNode(h, st, {}), whiteout: true, opaque: false, metacopy: false };
    const names = listXattrs(h);
    const x: Record<string, Buffer> = {};
    for (const n of names) if (n === OVL_OPAQUE || n === OVL_REDIRECT || n === OVL_METACOPY || n === LAMINA_INO) x[n] = getXattr(h, n) ?? Buffer.alloc(0);
    return {
      node: this.toNode(h, st, x),
      whiteout: false,
      opaque: fmt === S_IFDIR && x[OVL_OPAQUE]?.toString() === 'y',
      metacopy: fmt === S_IFREG && x[OVL_METACOPY] !== undefined,
      redirect: x[OVL_REDIRECT] && decodeFsName(x[OVL_REDIRECT]),
    };
  }

  names(p: string): string[] {
    try {
      return fs.readdirSync(this.host(p), { encoding: 'buffer' }).map((n) => decodeFsName(n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw err;
    }
  }

  private toNode(h: Buffer, st: fs.BigIntStats, x: Record<string, Buffer>): Node {
    const type = TYPES.get(Number(st.mode) & S_IFMT) ?? 'file';
    const kept = x[LAMINA_INO] ? Number(x[LAMINA_INO].toString()) : NaN;
    return {
      ino: Number.isFinite(kept) && kept > 0 ? kept : UPPER_INO_BASE + Number(st.ino),
      type, mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size),
      mtimeSec: Number(st.mtimeNs / 1_000_000_000n), mtimeNsec: Number(st.mtimeNs % 1_000_000_000n), nlink: Number(st.nlink),
      linkname: type === 'symlink' ? decodeFsName(fs.readlinkSync(h, { encoding: 'buffer' })) : undefined,
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
}
