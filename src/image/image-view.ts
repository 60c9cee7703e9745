import type { Store } from '../store/store.js';
import type { Digest, LayerEntry } from '../store/types.js';
import { ViewIndex, type NewViewRow, type ViewRow } from '../store/view-index.js';
import type { MergedView, Node } from '../union/view.js';
import { mergeLayers } from '../union/merge.js';

/** Hot entries kept in memory per mount; beyond this the oldest are dropped. */
const CACHE_LIMIT = 200_000;

const keyOf = (p: string) => (p === '/' ? '' : p.replace(/^\/+/, '').replace(/\/+$/, ''));

const IMPLICIT_DIR: Pick<LayerEntry, 'type' | 'mode' | 'uid' | 'gid' | 'size' | 'mtimeSec' | 'mtimeNsec'> = {
  type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeSec: 0, mtimeNsec: 0,
};

function toNode(r: ViewRow, fileOf: (d: Digest) => string): Node {
  const e = r.entry ?? IMPLICIT_DIR;
  const type = e.type === 'link' ? 'file' : e.type;
  const linkname = type === 'symlink' ? (r.entry?.linkname ?? '') : undefined;
  return {
    ino: r.ino, type, mode: e.mode, uid: e.uid, gid: e.gid,
    size: type === 'file' ? e.size : linkname !== undefined ? Buffer.byteLength(linkname) : 0,
    mtimeSec: e.mtimeSec, mtimeNsec: e.mtimeNsec, nlink: r.nlink, linkname,
    devmajor: r.entry?.devmajor, devminor: r.entry?.devminor,
    data: type === 'file' && r.diffId ? { file: fileOf(r.diffId), offset: r.entry!.offset } : undefined,
  };
}

interface Cached {
  node: Node;
  xattrs: Record<string, Buffer>;
}

/** Bounded insertion-ordered cache (oldest dropped first). */
class Bounded<V> extends Map<string, V> {
  override set(k: string, v: V): this {
    if (this.size >= CACHE_LIMIT) this.delete(this.keys().next().value as string);
    return super.set(k, v);
  }
}

/** The merged lower view of an image, probed from the index and cached in memory. */
export class IndexView implements MergedView {
  private readonly nodes = new Bounded<Cached | null>();
  private readonly dirs = new Bounded<string[]>();

  constructor(
    private readonly views: ViewIndex,
    private readonly imageId: Digest,
    private readonly fileOf: (diffId: Digest) => string,
  ) {}

  private get(path: string): Cached | undefined {
    const key = keyOf(path);
    let c = this.nodes.get(key);
    if (c === undefined) {
      const r = this.views.row(this.imageId, key);
      c = r ? { node: toNode(r, this.fileOf), xattrs: r.entry?.xattrs ?? {} } : null;
      this.nodes.set(key, c);
    }
    return c ?? undefined;
  }

  lookup(path: string): Node | undefined {
    return this.get(path)?.node;
  }

  readdir(path: string): string[] | undefined {
    const key = keyOf(path);
    if (this.get(key)?.node.type !== 'dir') return undefined;
    let names = this.dirs.get(key);
    if (!names) this.dirs.set(key, (names = this.views.children(this.imageId, key)));
    return names;
  }

  xattrs(path: string): Record<string, Buffer> {
    return this.get(path)?.xattrs ?? {};
  }

  stats(): { files: number; bytes: number } {
    const s = this.views.stats(this.imageId);
    return { files: s?.entries ?? 0, bytes: s?.bytes ?? 0 };
  }
}

/** Compute an image's merged view from its layers and store it in the index. */
export function buildView(store: Store, views: ViewIndex, imageId: Digest): void {
  const layers = store.index.imageLayers(imageId);
  const tree = mergeLayers(layers.map((l) => ({ entries: store.index.entries(l.diffId) })));
  let bytes = 0;
  const rows: NewViewRow[] = [];
  for (const m of tree.entries.values()) {
    if (m.entry.type === 'file') bytes += m.entry.size;
    const fromLayer = m.layer >= 0;
    rows.push({ path: m.path, diffId: fromLayer ? layers[m.layer]!.diffId : undefined,
      sourcePath: fromLayer ? m.entry.path : undefined, ino: m.ino, nlink: m.nlink });
  }
  views.putView(imageId, rows, bytes);
}

/** The read-only merged view of a stored image; the view is computed on first use. */
export function imageView(store: Store, imageId: Digest): IndexView {
  const views = new ViewIndex(store.index.db);
  if (!views.stats(imageId)) buildView(store, views, imageId);
  return new IndexView(views, imageId, (d) => store.blobs.pathOf(d));
}
