import type { LayerEntry } from '../store/types.js';

/** One layer's entries; layers are passed oldest (base) first. */
export interface LayerInput {
  /**
   * One entry per path, as ingest records them (extractedEntries) and the index keeps them (its
   * primary key): a merge does not check again, it runs for every view built.
   */
  entries: LayerEntry[];
}

/** A path of the merged view: the entry that wins, which layer it came from, its inode. */
export interface MergedEntry {
  path: string;
  /** Index into the bottom-to-top layer list; -1 for directories no layer records. */
  layer: number;
  /** The winning entry; for a hardlink, the entry of the file it links to (its own path). */
  entry: LayerEntry;
  ino: number;
  nlink: number;
}

/** A path's state during a merge: the layer index (-1: implicit directory) and the winning entry. */
export interface MergeSlot {
  readonly layer: number;
  readonly entry: LayerEntry;
}

/** Read-only view of a merge in progress; a slot object is replaced whenever its path changes. */
export interface MergeState {
  get(path: string): MergeSlot | undefined;
  /** Names in directory `path` (unsorted). */
  names(path: string): Iterable<string>;
}

/** Called around each layer's application (layers numbered bottom to top from 0). */
export interface MergeObserver {
  /** `entries`: the layer as applied (its LayerInput entries). */
  beforeLayer?(index: number, state: MergeState, entries: LayerEntry[]): void;
  afterLayer?(index: number, state: MergeState): void;
}

/** The merged lower view of an image: entries by path and sorted children by directory. */
export interface MergedTree {
  entries: Map<string, MergedEntry>;
  children: Map<string, string[]>;
}

const WHITEOUT = '.wh.';
const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const baseOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);

/** Metadata for a directory that only exists implicitly (a parent no layer records). */
function implicitDir(path: string): LayerEntry {
  return { path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeSec: 0, mtimeNsec: 0, whiteout: false, opaque: false, offset: 0 };
}

interface Slot {
  layer: number;
  entry: LayerEntry;
  /** Hardlink group: layer + path of the file the link points to. */
  group: string;
}

/** Mutable state while layers are applied. */
class Builder implements MergeState {
  readonly slots = new Map<string, Slot>();
  readonly kids = new Map<string, Set<string>>();

  constructor() {
    this.slots.set('', { layer: -1, entry: implicitDir(''), group: '' });
    this.kids.set('', new Set());
  }

  get(path: string): Slot | undefined {
    return this.slots.get(path);
  }

  names(path: string): Iterable<string> {
    return this.kids.get(path) ?? [];
  }

  /** Remove `path` and everything below it. */
  remove(path: string): void {
    if (!this.slots.delete(path)) return;
    this.kids.get(parentOf(path))?.delete(baseOf(path));
    this.clear(path);
  }

  /** Remove everything below directory `path`, keeping `path` itself. */
  clear(path: string): void {
    const names = this.kids.get(path);
    if (!names) return;
    for (const n of [...names]) this.remove(join(path, n));
    if (this.slots.get(path)?.entry.type === 'dir') names.clear();
    else this.kids.delete(path);
  }

  /** Make sure every ancestor of `path` is a directory. */
  ensureParents(path: string): void {
    const parent = parentOf(path);
    if (path === '') return;
    const slot = this.slots.get(parent);
    if (slot?.entry.type !== 'dir') {
      this.ensureParents(parent);
      if (slot) this.remove(parent);
      this.slots.set(parent, { layer: -1, entry: implicitDir(parent), group: '' });
      this.kids.set(parent, new Set());
      this.kids.get(parentOf(parent))?.add(baseOf(parent));
    }
  }

  put(path: string, slot: Slot): void {
    this.ensureParents(path);
    const old = this.slots.get(path);
    // A directory over a directory merges; any other replacement hides what was below.
    if (old && !(old.entry.type === 'dir' && slot.entry.type === 'dir')) this.remove(path);
    this.slots.set(path, slot);
    if (slot.entry.type === 'dir' && !this.kids.has(path)) this.kids.set(path, new Set());
    if (path !== '') this.kids.get(parentOf(path))!.add(baseOf(path));
  }
}

/** Resolve a hardlink to the entry it points at in the same layer. */
function linkTarget(byPath: Map<string, LayerEntry>, e: LayerEntry): LayerEntry | undefined {
  let t: LayerEntry | undefined = e;
  for (let hops = 0; t?.type === 'link' && hops < 16; hops++) t = byPath.get(t.linkname ?? '');
  return t?.type === 'link' ? undefined : t;
}

function applyLayer(b: Builder, entries: LayerEntry[], idx: number): void {
  // Whiteouts and opaque markers apply to lower layers only, so they go first.
  for (const e of entries) {
    if (e.opaque) b.clear(parentOf(e.path));
    else if (e.whiteout) b.remove(join(parentOf(e.path), baseOf(e.path).slice(WHITEOUT.length)));
  }
  const byPath = new Map(entries.map((e) => [e.path, e]));
  for (const e of entries) {
    if (e.whiteout || e.opaque) continue;
    if (e.type === 'link') {
      const target = linkTarget(byPath, e);
      if (target) b.put(e.path, { layer: idx, entry: target, group: `${idx}\0${target.path}` });
      continue;
    }
    b.put(e.path, { layer: idx, entry: e, group: `${idx}\0${e.path}` });
  }
}

/** Apply layers bottom to top with the OCI rules and number the result; `observer` may watch each step. */
export function mergeLayers(layersBottomToTop: LayerInput[], observer?: MergeObserver): MergedTree {
  const b = new Builder();
  layersBottomToTop.forEach(({ entries }, i) => {
    observer?.beforeLayer?.(i, b, entries);
    applyLayer(b, entries, i);
    observer?.afterLayer?.(i, b);
  });
  const paths = [...b.slots.keys()].sort();
  const groupIno = new Map<string, number>();
  const groupCount = new Map<string, number>();
  for (const p of paths) {
    const s = b.slots.get(p)!;
    if (s.entry.type !== 'dir') groupCount.set(s.group, (groupCount.get(s.group) ?? 0) + 1);
  }
  const entries = new Map<string, MergedEntry>();
  const children = new Map<string, string[]>();
  paths.forEach((p, i) => {
    const s = b.slots.get(p)!;
    const isDir = s.entry.type === 'dir';
    const ino = isDir ? i + 1 : (groupIno.get(s.group) ?? groupIno.set(s.group, i + 1).get(s.group)!);
    const names = isDir ? [...(b.kids.get(p) ?? [])].sort() : [];
    const subdirs = names.filter((n) => b.slots.get(join(p, n))?.entry.type === 'dir').length;
    entries.set(p, { path: p, layer: s.layer, entry: s.entry, ino, nlink: isDir ? 2 + subdirs : groupCount.get(s.group)! });
    if (isDir) children.set(p, names);
  });
  return { entries, children };
}
