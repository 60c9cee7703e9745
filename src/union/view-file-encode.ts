/** Encodes a merged tree (union/merge.ts) as a view file (docs/view-format.md). */
import { encodeFsName } from '../store/fs-name.js';
import type { LayerEntry } from '../store/types.js';
import type { MergedEntry, MergedTree } from './merge.js';
import {
  DIRENT_SIZE, DT, H, HEADER_SIZE, I, INODE_SIZE, LAYER_SIZE, LINK_SIZE, MAX_NAME, MAX_XATTR_VALUE, NO_LAYER,
  TYPE_BITS, VIEW_MAGIC, VIEW_VERSION, compareNames, makedev, type ViewNodeType,
} from './view-file-format.js';

/** A layer as the view file names it: its uncompressed tar, relative to the store root, and its size. */
export interface ViewLayer {
  blob: string;
  size: number;
}

interface Child {
  name: Buffer;
  ino: number;
}

/** One inode being laid out: the entry that defines it, the directory that names it, and for directories its sorted children. */
interface Slot {
  m: MergedEntry;
  parent: number;
  children?: Child[];
  firstDirent?: number;
  firstLink?: number;
}

/** Grows a byte pool and hands out (offset, length) pairs. */
class Pool {
  private readonly parts: Buffer[] = [];
  size = 0;
  add(b: Buffer): number {
    const at = this.size;
    this.parts.push(b);
    this.size += b.length;
    return at;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

const nodeType = (e: LayerEntry): ViewNodeType => (e.type === 'link' ? 'file' : e.type);
const align8 = (n: number): number => (n + 7) & ~7;
const parentPath = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

/** Dense inode numbers 1..N in path order (the root first); hard links share their group's. */
function numberInodes(tree: MergedTree): { slots: Slot[]; inoOf: Map<string, number> } {
  const byTreeIno = new Map<number, number>();
  const inoOf = new Map<string, number>();
  const slots: Slot[] = [];
  for (const m of tree.entries.values()) {
    let ino = byTreeIno.get(m.ino);
    if (ino === undefined) {
      slots.push({ m, parent: 0 });
      ino = slots.length;
      byTreeIno.set(m.ino, ino);
    }
    inoOf.set(m.path, ino);
  }
  if (inoOf.get('') !== 1) throw new Error('view file: the merged tree has no root');
  return { slots, inoOf };
}

function checkName(path: string, name: Buffer): void {
  if (name.length === 0 || name.length > MAX_NAME) throw new Error(`view file: name of ${JSON.stringify(path)} is ${name.length} bytes long`);
  if (name.includes(0) || name.includes(0x2f)) throw new Error(`view file: name of ${JSON.stringify(path)} holds NUL or '/'`);
}

/** Children of every directory, sorted by name bytes; parents of directories. */
function linkChildren(tree: MergedTree, slots: Slot[], inoOf: Map<string, number>): void {
  for (const [dir, names] of tree.children) {
    const slot = slots[inoOf.get(dir)! - 1]!;
    slot.children = names.map((n) => {
      const path = dir ? `${dir}/${n}` : n;
      const name = encodeFsName(n);
      checkName(path, name);
      return { name, ino: inoOf.get(path)! };
    }).sort((a, b) => compareNames(a.name, b.name));
  }
  slots[0]!.parent = 1;
  for (const s of slots) if (s.m.path !== '') s.parent = inoOf.get(parentPath(s.m.path))!;
}

function encodeXattrs(pool: Pool, e: LayerEntry): { off: number; len: number } {
  const names = Object.keys(e.xattrs ?? {}).sort((a, b) => compareNames(Buffer.from(a), Buffer.from(b)));
  if (names.length === 0) return { off: 0, len: 0 };
  const recs = names.map((n) => {
    const name = Buffer.from(n);
    const value = e.xattrs![n]!;
    if (name.length === 0 || name.length > MAX_NAME || value.length > MAX_XATTR_VALUE) {
      throw new Error(`view file: xattr ${JSON.stringify(n)} of ${JSON.stringify(e.path)} is too long`);
    }
    const head = Buffer.alloc(8);
    head.writeUInt16LE(name.length, 0);
    head.writeUInt32LE(value.length, 4);
    return Buffer.concat([head, name, value]);
  });
  const all = Buffer.concat(recs);
  return { off: pool.add(all), len: all.length };
}

function writeInode(buf: Buffer, at: number, s: Slot, data: bigint, link: number, x: { off: number; len: number }): void {
  const e = s.m.entry;
  const type = nodeType(e);
  const size = type === 'file' ? e.size : type === 'symlink' ? encodeFsName(e.linkname ?? '').length : type === 'dir' ? s.children!.length : 0;
  buf.writeUInt32LE(TYPE_BITS[type] | (e.mode & 0o7777), at + I.mode);
  buf.writeUInt32LE(e.uid >>> 0, at + I.uid);
  buf.writeUInt32LE(e.gid >>> 0, at + I.gid);
  buf.writeUInt32LE(s.m.nlink, at + I.nlink);
  buf.writeBigUInt64LE(BigInt(size), at + I.size);
  buf.writeBigInt64LE(BigInt(e.mtimeSec), at + I.mtimeSec);
  buf.writeUInt32LE(e.mtimeNsec, at + I.mtimeNsec);
  buf.writeUInt32LE(s.m.layer < 0 ? NO_LAYER : s.m.layer, at + I.layer);
  buf.writeBigUInt64LE(data, at + I.data);
  buf.writeBigUInt64LE(BigInt(type !== 'dir' && s.m.nlink > 1 ? link : s.parent), at + I.parent);
  buf.writeBigUInt64LE(BigInt(x.off), at + I.xattrOff);
  buf.writeUInt32LE(x.len, at + I.xattrLen);
}

/** The view file for `tree`, whose entries' `layer` indexes `layers` (base first). */
export function encodeView(tree: MergedTree, layers: ViewLayer[]): Buffer {
  const { slots, inoOf } = numberInodes(tree);
  linkChildren(tree, slots, inoOf);
  const names = new Pool();
  const xattrs = new Pool();
  // dirents in inode order, each directory's contiguous; links for files with several names
  const dirents: { child: Child; dir: number }[] = [];
  const links: { parent: number; dirent: number }[][] = slots.map(() => []);
  slots.forEach((s, i) => {
    if (!s.children) return;
    s.firstDirent = dirents.length;
    for (const child of s.children) {
      if (slots[child.ino - 1]!.m.nlink > 1 && nodeType(slots[child.ino - 1]!.m.entry) !== 'dir') {
        links[child.ino - 1]!.push({ parent: i + 1, dirent: dirents.length });
      }
      dirents.push({ child, dir: i + 1 });
    }
  });
  const linkRows: { parent: number; dirent: number }[] = [];
  slots.forEach((s, i) => {
    if (links[i]!.length > 1) {
      s.firstLink = linkRows.length;
      linkRows.push(...links[i]!);
    }
  });
  const layerRecs = Buffer.alloc(layers.length * LAYER_SIZE);
  layers.forEach((l, i) => {
    const p = Buffer.from(l.blob);
    layerRecs.writeUInt32LE(names.add(p), i * LAYER_SIZE);
    layerRecs.writeUInt32LE(p.length, i * LAYER_SIZE + 4);
    layerRecs.writeBigUInt64LE(BigInt(l.size), i * LAYER_SIZE + 8);
  });
  const direntRecs = Buffer.alloc(dirents.length * DIRENT_SIZE);
  dirents.forEach(({ child }, i) => {
    const at = i * DIRENT_SIZE;
    direntRecs.writeBigUInt64LE(BigInt(child.ino), at);
    direntRecs.writeUInt32LE(names.add(child.name), at + 8);
    direntRecs.writeUInt16LE(child.name.length, at + 12);
    direntRecs[at + 14] = DT[nodeType(slots[child.ino - 1]!.m.entry)];
  });
  let fileBytes = 0;
  const inodeRecs = Buffer.alloc(slots.length * INODE_SIZE);
  slots.forEach((s, i) => {
    const e = s.m.entry;
    const type = nodeType(e);
    let data = 0n;
    if (type === 'file') { data = BigInt(e.offset); fileBytes += e.size; }
    else if (type === 'symlink') data = BigInt(names.add(encodeFsName(e.linkname ?? '')));
    else if (type === 'dir') data = BigInt(s.firstDirent ?? 0);
    else if (type === 'char' || type === 'block') data = makedev(e.devmajor ?? 0, e.devminor ?? 0);
    writeInode(inodeRecs, i * INODE_SIZE, s, data, s.firstLink ?? 0, encodeXattrs(xattrs, e));
  });
  const linkRecs = Buffer.alloc(linkRows.length * LINK_SIZE);
  linkRows.forEach((l, i) => {
    linkRecs.writeBigUInt64LE(BigInt(l.parent), i * LINK_SIZE);
    linkRecs.writeBigUInt64LE(BigInt(l.dirent), i * LINK_SIZE + 8);
  });
  return assemble({ layers: layerRecs, inodes: inodeRecs, dirents: direntRecs, names: names.bytes(), xattrs: xattrs.bytes(), links: linkRecs },
    { layerCount: layers.length, inodeCount: slots.length, direntCount: dirents.length, linkCount: linkRows.length, fileBytes });
}

type Sections = Record<'layers' | 'inodes' | 'dirents' | 'names' | 'xattrs' | 'links', Buffer>;

function assemble(sec: Sections, n: { layerCount: number; inodeCount: number; direntCount: number; linkCount: number; fileBytes: number }): Buffer {
  const order = ['layers', 'inodes', 'dirents', 'links', 'xattrs', 'names'] as const;
  const off = {} as Record<(typeof order)[number], number>;
  let at = HEADER_SIZE;
  for (const k of order) { off[k] = at; at = align8(at + sec[k].length); }
  const out = Buffer.alloc(at);
  for (const k of order) sec[k].copy(out, off[k]);
  VIEW_MAGIC.copy(out, H.magic);
  out.writeUInt32LE(VIEW_VERSION, H.version);
  out.writeUInt32LE(HEADER_SIZE, H.headerSize);
  out.writeBigUInt64LE(BigInt(out.length), H.fileSize);
  out.writeUInt32LE(n.layerCount, H.layerCount);
  const u64 = (field: number, v: number) => out.writeBigUInt64LE(BigInt(v), field);
  u64(H.inodeCount, n.inodeCount);
  u64(H.direntCount, n.direntCount);
  u64(H.layersOff, off.layers);
  u64(H.inodesOff, off.inodes);
  u64(H.direntsOff, off.dirents);
  u64(H.namesOff, off.names);
  u64(H.namesSize, sec.names.length);
  u64(H.xattrsOff, off.xattrs);
  u64(H.xattrsSize, sec.xattrs.length);
  u64(H.linksOff, off.links);
  u64(H.linkCount, n.linkCount);
  u64(H.fileBytes, n.fileBytes);
  return out;
}
