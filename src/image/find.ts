/** lamina find: search the merged views of images from the index, with find(1)'s tests. */
import { shortId } from '../store/digest.js';
import { ImgError } from '../store/errors.js';
import { compileGlob } from '../store/path-sql.js';
import { QueryIndex, sizeMatches, type FindFilter, type FoundRow, type SizeTest } from '../store/query-index.js';
import type { Store } from '../store/store.js';
import type { Digest, EntryType } from '../store/types.js';
import { hashLayers, unhashedLayers } from './content-digests.js';
import { shownPath } from './image-path.js';
import { imageQueryData } from './query-data.js';
import { familiar } from './reference.js';
import { resolveImage } from './resolve.js';

export interface FindOptions {
  /** Images to search (as typed); all images when empty. */
  images?: string[];
  name?: string;
  path?: string;
  type?: string;
  size?: string;
  digest?: string;
  /** Told before files without a content digest are hashed (once per layer). */
  onHashing?: (layers: number, bytes: number) => void;
}

export interface Found extends Omit<FoundRow, 'path'> {
  /** The image as given, or its first tag, or its short ID. */
  image: string;
  imageId: Digest;
  path: string;
  /** The layer (1 = base) the entry comes from; undefined for implicit directories. */
  layer?: number;
}

const TYPES: Record<string, EntryType> = { f: 'file', d: 'dir', l: 'symlink', c: 'char', b: 'block', p: 'fifo' };
const UNITS: Record<string, number> = { c: 1, w: 2, b: 512, k: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** find's -size N[cwbkMG] with an optional + or -; the default unit is 512-byte blocks, sizes round up. */
export function parseSize(s: string): SizeTest {
  const m = /^([+-]?)(\d+)([cwbkMG]?)$/.exec(s);
  if (!m) throw new ImgError('INVALID_ARGUMENT', `--size ${JSON.stringify(s)}: want [+|-]N[c|w|b|k|M|G], as find -size`);
  return { op: (m[1] || '=') as SizeTest['op'], n: Number(m[2]), unit: UNITS[m[3] || 'b']! };
}

function parseDigest(s: string): Digest {
  const hex = s.startsWith('sha256:') ? s.slice(7) : s;
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new ImgError('INVALID_ARGUMENT', `--digest ${JSON.stringify(s)}: want sha256:<64 hex digits> (or the hex alone, as sha256sum prints it)`);
  return `sha256:${hex}`;
}

function parseFilter(o: FindOptions): FindFilter {
  const f: FindFilter = {};
  if (o.name !== undefined) f.name = compileGlob(o.name);
  if (o.path !== undefined) f.path = compileGlob(o.path);
  if (o.type !== undefined) {
    f.type = TYPES[o.type];
    if (!f.type) throw new ImgError('INVALID_ARGUMENT', `--type ${JSON.stringify(o.type)}: want one of f, d, l, c, b, p`);
  }
  if (o.size !== undefined) f.size = parseSize(o.size);
  if (o.digest !== undefined) f.digest = parseDigest(o.digest);
  return f;
}

/** The images to search, each once, with the name to show. */
function targets(store: Store, refs: string[]): Array<{ id: Digest; name: string }> {
  const seen = new Map<Digest, string>();
  for (const r of refs) {
    const { id } = resolveImage(store, r);
    if (!seen.has(id)) seen.set(id, r);
  }
  if (!refs.length) {
    for (const img of store.index.images()) {
      const tag = store.index.tagsOf(img.id)[0];
      seen.set(img.id, tag ? familiar(tag) : shortId(img.id));
    }
  }
  return [...seen].map(([id, name]) => ({ id, name }));
}

/** Whether the root passes: find names it by the path it was given, here '/'. */
function rootMatches(f: FindFilter): boolean {
  return (!f.name || f.name.regex.test('/')) && (!f.path || f.path.regex.test('/')) && (!f.type || f.type === 'dir')
    && (!f.size || sizeMatches(0, f.size)) && !f.digest;
}

function root(queries: QueryIndex, id: Digest): FoundRow {
  const s = queries.viewSource(id, '');
  const e = s?.diffId ? queries.entry(s.diffId, s.sourcePath!) : undefined;
  return { path: '', diffId: s?.diffId, type: 'dir', size: 0, mode: e?.mode ?? 0o755, uid: e?.uid ?? 0, gid: e?.gid ?? 0 };
}

/** Paths of the images' merged views that pass every test, image by image, sorted by path. */
export async function findPaths(store: Store, o: FindOptions): Promise<Found[]> {
  const filter = parseFilter(o);
  const images = targets(store, o.images ?? []);
  const queries = new QueryIndex(store.index.db);
  const layersOf = new Map(images.map(({ id }) => [id, store.index.imageLayers(id).map((l) => l.diffId)]));
  for (const { id } of images) imageQueryData(store, queries, id);
  if (filter.digest) {
    const todo = unhashedLayers(queries, [...layersOf.values()].flat());
    if (todo.layers.length) o.onHashing?.(todo.layers.length, todo.bytes);
    await hashLayers(store, queries, todo.layers);
  }
  const byImage = new Map<Digest, FoundRow[]>(images.map(({ id }) => [id, rootMatches(filter) ? [root(queries, id)] : []]));
  for (const r of images.length ? queries.find(images.map((i) => i.id), filter) : []) byImage.get(r.imageId)!.push(r);
  const byPath = (a: FoundRow, b: FoundRow) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  return images.flatMap(({ id, name }) => {
    const diffIds = layersOf.get(id)!;
    return byImage.get(id)!.sort(byPath).map((r) => Object.assign(r, {
      image: name, imageId: id, path: shownPath(r.path), layer: r.diffId ? diffIds.lastIndexOf(r.diffId) + 1 : undefined,
    }));
  });
}
