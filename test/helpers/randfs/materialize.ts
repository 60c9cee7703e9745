/**
 * Real directories from a generated stack, made by py/materialize.py (as root, so owners,
 * devices and trusted.* xattrs are exact): the merged tree the model describes (the
 * differential test's oracle), and each layer as an overlayfs lower directory.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runOk } from '../proc.js';
import type { GenEntry, GenLayer } from './random-layers.js';
import { modelTree, PY_DIR, type FsRecord } from './tree-records.js';

/** One entry as py/materialize.py takes it. */
interface Spec {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block' | 'whiteout' | 'hardlink';
  mode: number;
  uid: number;
  gid: number;
  mtime: [number, number];
  content?: string;
  link?: string;
  rdev?: [number, number];
  xattrs?: Record<string, string>;
  opaque?: boolean;
}

const mtimeOf = (text: string): [number, number] => {
  const [s, ns] = text.split('.');
  return [Number(s), Number(ns)];
};

const fromRecord = (r: FsRecord): Spec => ({
  path: r.path, type: r.type === 'socket' ? 'fifo' : r.type, mode: r.mode, uid: r.uid, gid: r.gid, mtime: mtimeOf(r.mtime),
  link: r.link, rdev: r.rdev, xattrs: r.xattrs,
});

/** Creates each tree (`root` must not exist or be empty); one python3 child for all of them. */
export async function materialize(trees: Array<{ root: string; entries: Spec[] }>, scratch: string): Promise<void> {
  const file = path.join(scratch, `materialize-${process.pid}-${Date.now()}.json`);
  await writeFile(file, JSON.stringify(trees));
  await runOk('python3', ['-B', `${PY_DIR}materialize.py`, file], { timeout: 120_000 });
}

/** The merged tree, as a plain directory. */
export function mergedSpec(layers: GenLayer[]): Spec[] {
  const { records, contents } = modelTree(layers);
  const first = new Map<string, string>();
  return records.map((r) => {
    const spec = fromRecord(r);
    if (r.type !== 'dir' && first.has(r.ino)) return { ...spec, type: 'hardlink', link: first.get(r.ino) };
    first.set(r.ino, r.path);
    return r.type === 'file' ? { ...spec, content: contents.get(r.path)!.toString('base64') } : spec;
  });
}

/** Just the merged root's metadata (for a fresh upper directory). */
export function rootSpec(layers: GenLayer[]): Spec[] {
  return [fromRecord(modelTree(layers).records.find((r) => r.path === '')!)];
}

/**
 * Layer `i` in overlayfs' format. A directory the layer's tar leaves implicit gets the
 * metadata the model gives it at that layer (so overlayfs, which shows the topmost
 * layer's directory, agrees with the model); a whiteout of a name the same layer
 * re-creates becomes an opaque directory, or nothing when the new entry is not one.
 */
export function overlayLayerSpec(layers: GenLayer[], i: number): Spec[] {
  const below = new Map(modelTree(layers.slice(0, i + 1)).records.map((r) => [r.path, r]));
  const layer = layers[i]!;
  const hexOf = (b: Buffer) => b.toString('hex');
  const written = new Set(layer.entries.filter((e) => e.type !== 'whiteout' && e.type !== 'opaque').map((e) => hexOf(e.path)));
  const out = new Map<string, Spec>();
  const reopened = new Set<string>(); // whited out and re-created as a directory in this layer
  const ensureDir = (p: Buffer) => {
    const k = hexOf(p);
    if (out.has(k)) return;
    const cut = p.lastIndexOf(0x2f);
    if (p.length) ensureDir(cut < 0 ? Buffer.alloc(0) : p.subarray(0, cut));
    const r = below.get(k);
    out.set(k, r && r.type === 'dir' ? fromRecord(r) : { path: k, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: [0, 0] });
  };
  for (const e of layer.entries) {
    const k = hexOf(e.path);
    const cut = e.path.lastIndexOf(0x2f);
    if (e.path.length) ensureDir(cut < 0 ? Buffer.alloc(0) : e.path.subarray(0, cut));
    if (e.type === 'opaque') {
      ensureDir(e.path);
      out.get(k)!.opaque = true;
    } else if (e.type === 'whiteout') {
      if (!written.has(k)) out.set(k, { path: k, type: 'whiteout', mode: 0, uid: 0, gid: 0, mtime: [0, 0] });
      else if (layer.entries.some((x) => x.type === 'dir' && hexOf(x.path) === k)) reopened.add(k);
    } else {
      out.set(k, layerEntrySpec(e, out.get(k)?.opaque || reopened.has(k)));
    }
  }
  return [...out.values()];
}

function layerEntrySpec(e: GenEntry, opaque: boolean | undefined): Spec {
  const s: Spec = {
    path: e.path.toString('hex'), type: e.type === 'link' ? 'hardlink' : (e.type as Spec['type']), mode: e.mode, uid: e.uid,
    gid: e.gid, mtime: e.mtime, link: e.linkname?.toString('hex'), rdev: e.dev,
    xattrs: e.xattrs && Object.fromEntries(e.xattrs.map(([k, v]) => [k, v.toString('hex')])),
  };
  if (e.type === 'file') s.content = (e.content ?? Buffer.alloc(0)).toString('base64');
  if (opaque) s.opaque = true;
  return s;
}
