import { readFile } from 'node:fs/promises';
import type { MergedView, Node } from '../../src/union/view.js';

/** One node of a MemoryView as stored in JSON; xattr values are base64. */
export interface MemoryEntryJson {
  path: string;
  node: Node;
  xattrs?: Record<string, string>;
}

/** A whole MemoryView as JSON (what `kind: 'memory'` mounts load). */
export interface MemoryTreeJson {
  entries: MemoryEntryJson[];
}

const parentOf = (p: string) => p.slice(0, Math.max(p.lastIndexOf('/'), 1));
const baseOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** A MergedView held in maps; for tests and for mounting hand-made trees. */
export class MemoryView implements MergedView {
  private readonly nodes = new Map<string, Node>();
  private readonly children = new Map<string, string[]>();
  private readonly attrs = new Map<string, Record<string, Buffer>>();

  constructor(tree: MemoryTreeJson) {
    for (const e of tree.entries) {
      this.nodes.set(e.path, e.node);
      if (e.node.type === 'dir' && !this.children.has(e.path)) this.children.set(e.path, []);
      if (e.path !== '/') this.childList(parentOf(e.path)).push(baseOf(e.path));
      const x = Object.entries(e.xattrs ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')] as const);
      if (x.length) this.attrs.set(e.path, Object.fromEntries(x));
    }
    if (this.nodes.get('/')?.type !== 'dir') throw new Error('memory view: "/" must be a directory');
  }

  lookup(p: string): Node | undefined {
    return this.nodes.get(p);
  }

  readdir(p: string): string[] | undefined {
    return this.nodes.get(p)?.type === 'dir' ? this.children.get(p) : undefined;
  }

  xattrs(p: string): Record<string, Buffer> {
    return this.attrs.get(p) ?? {};
  }

  stats(): { files: number; bytes: number } {
    let bytes = 0;
    for (const n of this.nodes.values()) if (n.type === 'file') bytes += n.size;
    return { files: this.nodes.size, bytes };
  }

  private childList(dir: string): string[] {
    let list = this.children.get(dir);
    if (!list) this.children.set(dir, (list = []));
    return list;
  }
}

/** Loads a MemoryView from a MemoryTreeJson file. */
export async function loadMemoryView(file: string): Promise<MemoryView> {
  return new MemoryView(JSON.parse(await readFile(file, 'utf8')) as MemoryTreeJson);
}
