import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MemoryView, type MemoryEntryJson, type MemoryTreeJson } from './memory-view-impl.js';
import type { Node, NodeType } from '../../src/union/view.js';

/** One declared entry; parents are created as 0755 root directories when not declared. */
export interface Item {
  path: string;
  type: NodeType;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: [sec: number, nsec: number];
  content?: Buffer;
  linkname?: string;
  dev?: [major: number, minor: number];
  xattrs?: Record<string, string | Buffer>;
  /** Makes this path a hardlink to another declared file (same node, same ino). */
  hardlinkOf?: string;
  /** Overrides: a fixed inode number, or bytes that live in a file of the test's own (sparse, huge). */
  ino?: number;
  size?: number;
  data?: { file: string; offset: number };
}
type Opts = Partial<Omit<Item, 'path' | 'type' | 'content' | 'linkname' | 'dev' | 'hardlinkOf'>>;

export const dir = (p: string, o: Opts = {}): Item => ({ path: p, type: 'dir', mode: 0o755, ...o });
export const file = (p: string, content: string | Buffer, o: Opts = {}): Item =>
  ({ path: p, type: 'file', mode: 0o644, content: Buffer.from(content), ...o });
export const symlink = (p: string, target: string, o: Opts = {}): Item => ({ path: p, type: 'symlink', mode: 0o777, linkname: target, ...o });
export const hardlink = (p: string, target: string): Item => ({ path: p, type: 'file', hardlinkOf: target });
export const device = (p: string, type: 'char' | 'block', major: number, minor: number, o: Opts = {}): Item =>
  ({ path: p, type, mode: 0o660, dev: [major, minor], ...o });
export const fifo = (p: string, o: Opts = {}): Item => ({ path: p, type: 'fifo', mode: 0o644, ...o });

const PAD = Buffer.alloc(512, 0x5a); // junk before each file's bytes, so a wrong offset shows

function withParents(items: Item[]): Item[] {
  const declared = new Set(items.map((i) => i.path));
  const out = declared.has('/') ? [] : [dir('/')];
  for (const it of items) {
    for (let p = path.posix.dirname(it.path); p !== '/' && !declared.has(p); p = path.posix.dirname(p)) {
      declared.add(p);
      out.push(dir(p));
    }
  }
  return [...out, ...items].sort((a, b) => a.path.split('/').length - b.path.split('/').length);
}

function toNode(it: Item, ino: number, data: { file: string; offset: number } | undefined): Node {
  const [mtimeSec, mtimeNsec] = it.mtime ?? [1_700_000_000, 0];
  return {
    ino: it.ino ?? ino, type: it.type, mode: it.mode ?? 0o644, uid: it.uid ?? 0, gid: it.gid ?? 0,
    size: it.size ?? it.content?.length ?? 0, mtimeSec, mtimeNsec, nlink: it.type === 'dir' ? 2 : 1,
    ...(it.linkname !== undefined && { linkname: it.linkname }),
    ...(it.dev && { devmajor: it.dev[0], devminor: it.dev[1] }),
    ...(data && { data }),
  };
}

/** Builds the tree; file bytes go into `dataFile` like a tar's, with junk between them. */
export async function buildMemoryTree(items: Item[], dataFile: string): Promise<MemoryTreeJson> {
  const chunks: Buffer[] = [];
  let offset = 0;
  const nodes = new Map<string, Node>();
  const entries: MemoryEntryJson[] = [];
  for (const it of withParents(items)) {
    const shared = it.hardlinkOf ? nodes.get(it.hardlinkOf) : undefined;
    if (it.hardlinkOf && !shared) throw new Error(`hardlink ${it.path}: ${it.hardlinkOf} not declared before it`);
    let data = it.data;
    if (!shared && !data && it.content?.length) {
      chunks.push(PAD, it.content);
      data = { file: dataFile, offset: offset + PAD.length };
      offset += PAD.length + it.content.length;
    }
    const node = shared ?? toNode(it, nodes.size + 1, data);
    if (shared) shared.nlink += 1;
    if (it.type === 'dir' && it.path !== '/') nodes.get(path.posix.dirname(it.path))!.nlink += 1;
    nodes.set(it.path, node);
    const xattrs = Object.entries(it.xattrs ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]);
    entries.push({ path: it.path, node, ...(xattrs.length && { xattrs: Object.fromEntries(xattrs) }) });
  }
  await writeFile(dataFile, Buffer.concat(chunks));
  return { entries };
}

/** Writes `<dir>/tree.json` and `<dir>/data.bin`; returns the spec to mount and the view. */
export async function writeMemoryView(dir: string, items: Item[]) {
  const tree = await buildMemoryTree(items, path.join(dir, 'data.bin'));
  const file = path.join(dir, 'tree.json');
  await writeFile(file, JSON.stringify(tree));
  return { spec: { kind: 'memory', file }, view: new MemoryView(tree), tree };
}
