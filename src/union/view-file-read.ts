/**
 * Reads a view file (docs/view-format.md): checks it whole, as native/view.c does, then answers
 * MergedView lookups by binary search. Used by commit/diff/export and by tests.
 */
import { decodeFsName, encodeFsName } from '../store/fs-name.js';
import type { MergedView, Node } from './view.js';
import {
  DIRENT_SIZE, DT, H, HEADER_SIZE, I, INODE_SIZE, LAYER_SIZE, LINK_SIZE, MAX_NAME, MAX_XATTR_VALUE, NO_LAYER,
  VIEW_MAGIC, VIEW_VERSION, compareNames, splitdev, typeOfMode,
} from './view-file-format.js';

/** A malformed view file; the message says what is wrong. */
export class ViewFormatError extends Error {}

const bad = (why: string): never => { throw new ViewFormatError(`malformed view file: ${why}`); };

/** One decoded inode, as the file stores it. */
export interface ViewInode {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  mtimeSec: number;
  mtimeNsec: number;
  layer: number;
  data: bigint;
  parent: number;
  xattrOff: number;
  xattrLen: number;
}

export class ViewFile implements MergedView {
  readonly inodeCount: number;
  readonly layers: { blob: string; size: number }[] = [];
  private readonly h: Record<keyof typeof H, number>;
  /** Directories seen in some listing while checking: each may have one name only. */
  private readonly listedDirs = new Set<number>();

  /** `blobPath` turns a layer's stored path (relative to the store root) into a host path. */
  constructor(private readonly buf: Buffer, private readonly blobPath: (rel: string) => string = (p) => p) {
    this.h = readHeader(buf);
    this.inodeCount = this.h.inodeCount;
    for (let i = 0; i < this.h.layerCount; i++) {
      const at = this.h.layersOff + i * LAYER_SIZE;
      const blob = this.name(buf.readUInt32LE(at), buf.readUInt32LE(at + 4)).toString('latin1');
      if (blob.startsWith('/') || blob.split('/').includes('..')) bad(`layer ${i} path ${JSON.stringify(blob)} leaves the store`);
      this.layers.push({ blob, size: u64(buf, at + 8) });
    }
    for (let ino = 1; ino <= this.inodeCount; ino++) {
      const mode = this.inode(ino).mode;
      if (!typeOfMode(mode)) bad(`inode ${ino} has mode ${mode.toString(8)}`);
    }
    for (let ino = 1; ino <= this.inodeCount; ino++) this.checkInode(ino);
  }

  inode(ino: number): ViewInode {
    if (!Number.isInteger(ino) || ino < 1 || ino > this.inodeCount) bad(`inode ${ino} out of range`);
    const at = this.h.inodesOff + (ino - 1) * INODE_SIZE;
    const b = this.buf;
    return {
      ino, mode: b.readUInt32LE(at + I.mode), uid: b.readUInt32LE(at + I.uid), gid: b.readUInt32LE(at + I.gid),
      nlink: b.readUInt32LE(at + I.nlink), size: u64(b, at + I.size), mtimeSec: Number(b.readBigInt64LE(at + I.mtimeSec)),
      mtimeNsec: b.readUInt32LE(at + I.mtimeNsec), layer: b.readUInt32LE(at + I.layer), data: b.readBigUInt64LE(at + I.data),
      parent: u64(b, at + I.parent), xattrOff: u64(b, at + I.xattrOff), xattrLen: b.readUInt32LE(at + I.xattrLen),
    };
  }

  /** Children of directory `ino` in file order (sorted by name bytes). */
  dirents(ino: number): { name: Buffer; ino: number; dtype: number }[] {
    const d = this.inode(ino);
    const out = [];
    for (let i = 0; i < d.size; i++) out.push(this.dirent(Number(d.data) + i));
    return out;
  }

  /** The inode named `name` in directory `dir`, by binary search; 0 when absent. */
  lookupIn(dir: number, name: Buffer): number {
    const d = this.inode(dir);
    if (typeOfMode(d.mode) !== 'dir') return 0;
    let lo = Number(d.data);
    let hi = lo + d.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = compareNames(this.dirent(mid).name, name);
      if (c === 0) return this.dirent(mid).ino;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** The inode at absolute `path` (`/`, `/etc/passwd`), or 0. */
  resolve(path: string): number {
    let ino = 1;
    for (const part of path.split('/')) {
      if (part === '') continue;
      ino = this.lookupIn(ino, encodeFsName(part));
      if (ino === 0) return 0;
    }
    return ino;
  }

  /** The names of `ino`'s xattrs with their values. */
  xattrsOf(ino: number): [string, Buffer][] {
    const d = this.inode(ino);
    const out: [string, Buffer][] = [];
    for (let at = d.xattrOff, end = d.xattrOff + d.xattrLen; at < end;) {
      const p = this.h.xattrsOff + at;
      const nlen = this.buf.readUInt16LE(p);
      const vlen = this.buf.readUInt32LE(p + 4);
      out.push([this.buf.toString('utf8', p + 8, p + 8 + nlen), this.buf.subarray(p + 8 + nlen, p + 8 + nlen + vlen)]);
      at += 8 + nlen + vlen;
    }
    return out;
  }

  /** Every (parent, name) of a file inode that has several names. */
  linksOf(ino: number): { parent: number; name: Buffer }[] {
    const d = this.inode(ino);
    if (typeOfMode(d.mode) === 'dir' || d.nlink < 2) return [];
    const out = [];
    for (let i = 0; i < d.nlink; i++) {
      const at = this.h.linksOff + (d.parent + i) * LINK_SIZE;
      out.push({ parent: u64(this.buf, at), name: this.dirent(u64(this.buf, at + 8)).name });
    }
    return out;
  }

  // MergedView

  lookup(path: string): Node | undefined {
    const ino = this.resolve(path);
    return ino ? this.node(ino) : undefined;
  }

  readdir(path: string): string[] | undefined {
    const ino = this.resolve(path);
    if (!ino || typeOfMode(this.inode(ino).mode) !== 'dir') return undefined;
    return this.dirents(ino).map((d) => decodeFsName(d.name));
  }

  xattrs(path: string): Record<string, Buffer> {
    const ino = this.resolve(path);
    return ino ? Object.fromEntries(this.xattrsOf(ino)) : {};
  }

  stats(): { files: number; bytes: number } {
    return { files: this.inodeCount, bytes: this.h.fileBytes };
  }

  /** The MergedView node of inode `ino`. */
  node(ino: number): Node {
    const d = this.inode(ino);
    const type = typeOfMode(d.mode)!;
    const n: Node = { ino, type, mode: d.mode & 0o7777, uid: d.uid, gid: d.gid, size: type === 'dir' ? 0 : d.size,
      mtimeSec: d.mtimeSec, mtimeNsec: d.mtimeNsec, nlink: d.nlink };
    if (type === 'symlink') n.linkname = decodeFsName(this.name(Number(d.data), d.size));
    if (type === 'char' || type === 'block') Object.assign(n, (({ major, minor }) => ({ devmajor: major, devminor: minor }))(splitdev(d.data)));
    if (type === 'file') n.data = { file: this.blobPath(this.layers[d.layer]!.blob), offset: Number(d.data) };
    return n;
  }

  private dirent(i: number): { name: Buffer; ino: number; dtype: number } {
    if (i < 0 || i >= this.h.direntCount) bad(`dirent ${i} out of range`);
    const at = this.h.direntsOff + i * DIRENT_SIZE;
    return { ino: u64(this.buf, at), name: this.name(this.buf.readUInt32LE(at + 8), this.buf.readUInt16LE(at + 12)), dtype: this.buf[at + 14]! };
  }

  private name(off: number, len: number): Buffer {
    if (off + len > this.h.namesSize) bad(`name at ${off}+${len} outside the name pool`);
    return this.buf.subarray(this.h.namesOff + off, this.h.namesOff + off + len);
  }

  private checkInode(ino: number): void {
    const d = this.inode(ino);
    const type = typeOfMode(d.mode)!;
    if (d.mtimeNsec >= 1e9) bad(`inode ${ino} mtime nanoseconds ${d.mtimeNsec}`);
    if (d.xattrLen > 0) this.checkXattrs(ino, d);
    if (type === 'dir') return this.checkDir(ino, d);
    if (d.nlink > 1) this.checkLinks(ino, d);
    else if (d.parent < 1 || d.parent > this.inodeCount || typeOfMode(this.inode(d.parent).mode) !== 'dir') bad(`inode ${ino} has parent ${d.parent}`);
    if (type === 'symlink' && this.name(Number(d.data), d.size).includes(0)) bad(`inode ${ino} symlink target holds NUL`);
    if (type === 'file') {
      if (d.layer === NO_LAYER || d.layer >= this.layers.length) bad(`inode ${ino} names layer ${d.layer}`);
      if (Number(d.data) + d.size > this.layers[d.layer]!.size) bad(`inode ${ino} data runs past its layer`);
    }
  }

  private checkDir(ino: number, d: ViewInode): void {
    if (d.parent < 1 || d.parent > this.inodeCount || typeOfMode(this.inode(d.parent).mode) !== 'dir') bad(`directory ${ino} has parent ${d.parent}`);
    if (ino === 1 && d.parent !== 1) bad('the root is not its own parent');
    const first = Number(d.data);
    if (d.size > 0 && (first < 0 || first + d.size > this.h.direntCount)) bad(`directory ${ino} dirents out of range`);
    let prev: Buffer | undefined;
    for (let i = 0; i < d.size; i++) {
      const e = this.dirent(first + i);
      if (e.name.length === 0 || e.name.length > MAX_NAME || e.name.includes(0) || e.name.includes(0x2f)) bad(`directory ${ino} has a bad name`);
      if (e.name.equals(Buffer.from('.')) || e.name.equals(Buffer.from('..'))) bad(`directory ${ino} lists . or ..`);
      if (prev && compareNames(prev, e.name) >= 0) bad(`directory ${ino} is not sorted`);
      if (e.ino < 1 || e.ino > this.inodeCount || e.ino === 1) bad(`directory ${ino} names inode ${e.ino}`);
      const child = this.inode(e.ino);
      if (DT[typeOfMode(child.mode)!] !== e.dtype) bad(`directory ${ino}: d_type of ${e.ino} is wrong`);
      if (typeOfMode(child.mode) === 'dir') {
        if (child.parent !== ino || e.ino === ino) bad(`directory ${e.ino} does not name ${ino} as parent`);
        if (this.listedDirs.has(e.ino)) bad(`directory ${e.ino} is listed twice`);
        this.listedDirs.add(e.ino);
      }
      prev = e.name;
    }
  }

  private checkLinks(ino: number, d: ViewInode): void {
    if (d.parent + d.nlink > this.h.linkCount) bad(`inode ${ino} links out of range`);
    for (const l of this.linksOf(ino)) if (this.lookupIn(l.parent, l.name) !== ino) bad(`inode ${ino} link does not name it`);
  }

  private checkXattrs(ino: number, d: ViewInode): void {
    if (d.xattrOff + d.xattrLen > this.h.xattrsSize) bad(`inode ${ino} xattrs outside the pool`);
    for (let at = d.xattrOff, end = d.xattrOff + d.xattrLen; at < end;) {
      if (at + 8 > end) bad(`inode ${ino} xattr record truncated`);
      const p = this.h.xattrsOff + at;
      const nlen = this.buf.readUInt16LE(p);
      const vlen = this.buf.readUInt32LE(p + 4);
      if (nlen === 0 || nlen > MAX_NAME || vlen > MAX_XATTR_VALUE || at + 8 + nlen + vlen > end) bad(`inode ${ino} xattr record bad`);
      if (this.buf.subarray(p + 8, p + 8 + nlen).includes(0)) bad(`inode ${ino} xattr name holds NUL`);
      at += 8 + nlen + vlen;
    }
  }
}

const u64 = (b: Buffer, at: number): number => {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`value at ${at} too large`);
  return Number(v);
};

function readHeader(b: Buffer): Record<keyof typeof H, number> {
  if (b.length < HEADER_SIZE || !b.subarray(0, 8).equals(VIEW_MAGIC)) bad('not a view file (bad magic)');
  const h = {} as Record<keyof typeof H, number>;
  for (const [k, at] of Object.entries(H) as [keyof typeof H, number][]) {
    if (k === 'magic') continue;
    h[k] = ['version', 'headerSize', 'layerCount', 'flags'].includes(k) ? b.readUInt32LE(at) : u64(b, at);
  }
  if (h.version !== VIEW_VERSION) bad(`version ${h.version}, expected ${VIEW_VERSION}`);
  if (h.headerSize !== HEADER_SIZE || h.flags !== 0) bad('unknown header size or flags');
  if (h.fileSize !== b.length) bad(`file size ${b.length}, header says ${h.fileSize}`);
  if (h.inodeCount < 1) bad('no root inode');
  const section = (name: string, off: number, size: number) => {
    if (off % 8 !== 0 || off < HEADER_SIZE || off + size > b.length) bad(`${name} section out of bounds`);
  };
  section('layer', h.layersOff, h.layerCount * LAYER_SIZE);
  section('inode', h.inodesOff, h.inodeCount * INODE_SIZE);
  section('dirent', h.direntsOff, h.direntCount * DIRENT_SIZE);
  section('link', h.linksOff, h.linkCount * LINK_SIZE);
  section('name', h.namesOff, h.namesSize);
  section('xattr', h.xattrsOff, h.xattrsSize);
  return h;
}
