/** lamina diff for images: what one layer changes, or how two images' merged views differ; from the index, no mount. */
import { ImgError } from '../store/errors.js';
import { QueryIndex, type ViewEntry } from '../store/query-index.js';
import type { Store } from '../store/store.js';
import type { LayerEntry } from '../store/types.js';
import type { ChangeKind } from '../union/layer-changes.js';
import { imageQueryData } from './query-data.js';
import { fileDigests, fileKey } from './content-digests.js';
import { parentKey, shownPath } from './image-path.js';
import { resolveImage } from './resolve.js';

export interface PathChange {
  kind: ChangeKind;
  path: string;
}

const byPath = (a: PathChange, b: PathChange) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** What layer `n` (1 = base) of image `ref` changes in the view of the layers below it, as docker diff lists it. */
export function diffLayer(store: Store, ref: string, n: number): PathChange[] {
  const { id } = resolveImage(store, ref);
  const count = store.index.imageLayers(id).length;
  if (!Number.isInteger(n) || n < 1 || n > count) {
    throw new ImgError('INVALID_ARGUMENT', `--layer ${n}: image ${ref} has ${count} layer${count === 1 ? '' : 's'} (1 is the base)`);
  }
  const queries = new QueryIndex(store.index.db);
  return queries.changesAt(imageQueryData(store, queries, id), n - 1).filter((c) => c.listed)
    .map((c) => ({ kind: c.kind, path: shownPath(c.path) }));
}

/** What a directory no layer records looks like in a mount. */
const IMPLICIT_DIR = { type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeSec: 0, mtimeNsec: 0 } as const;

const sameXattrs = (a: LayerEntry['xattrs'] = {}, b: LayerEntry['xattrs'] = {}) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k]?.equals(v));

/** Everything lstat, readlink and getxattr show, except content and link counts. */
function sameMetadata(a: LayerEntry | undefined, b: LayerEntry | undefined): boolean {
  const x = a ?? IMPLICIT_DIR;
  const y = b ?? IMPLICIT_DIR;
  return x.type === y.type && x.mode === y.mode && x.uid === y.uid && x.gid === y.gid && x.mtimeSec === y.mtimeSec
    && x.mtimeNsec === y.mtimeNsec && (x.type !== 'file' || a!.size === b!.size)
    && (x.type !== 'symlink' || a!.linkname === b!.linkname)
    && ((x.type !== 'char' && x.type !== 'block') || (a!.devmajor === b!.devmajor && a!.devminor === b!.devminor))
    && sameXattrs(a?.xattrs, b?.xattrs);
}

/**
 * How image `to` differs from image `from`, as docker diff shows a container against its
 * image: A for every path only `to` has, D for the topmost paths only `from` has, C for
 * paths whose type, metadata, xattrs or content differ. Files from different layers with
 * equal metadata are compared by content digest (hashed on first need).
 */
export async function diffImages(store: Store, from: string, to: string): Promise<PathChange[]> {
  const a = resolveImage(store, from).id;
  const b = resolveImage(store, to).id;
  const queries = new QueryIndex(store.index.db);
  imageQueryData(store, queries, a);
  imageQueryData(store, queries, b);
  const { onlyA, onlyB, both } = queries.viewDifferences(a, b);
  const out: PathChange[] = onlyB.map((p) => ({ kind: 'A', path: p }));
  const sameMeta = both.filter((p) => sameMetadata(p.a.entry, p.b.entry));
  const files = sameMeta.filter((p) => p.a.entry?.type === 'file');
  const ref = (v: ViewEntry) => ({ diffId: v.diffId!, path: v.entry!.path });
  const digests = await fileDigests(store, queries, files.flatMap((p) => [p.a, p.b]).filter((v) => !v.digest).map(ref));
  const digestOf = (v: ViewEntry) => v.digest ?? digests.get(fileKey(v.diffId!, v.entry!.path));
  const unchanged = new Set(sameMeta.filter((p) => p.a.entry?.type !== 'file' || digestOf(p.a) === digestOf(p.b)).map((p) => p.path));
  for (const p of both) if (!unchanged.has(p.path)) out.push({ kind: 'C', path: p.path });
  // A removed path is listed only where its parent is still a directory in `to`.
  const gone = new Set(onlyA);
  for (const p of onlyA) {
    const parent = parentKey(p);
    if (gone.has(parent)) continue;
    const s = queries.viewSource(b, parent);
    const type = s?.diffId ? queries.entry(s.diffId, s.sourcePath!)?.type : 'dir';
    if (type === 'dir') out.push({ kind: 'D', path: p });
  }
  return out.filter((c) => c.path !== '').map((c) => ({ kind: c.kind, path: shownPath(c.path) })).sort(byPath);
}
