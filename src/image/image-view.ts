/**
 * The merged lower view of a stored image as a view file (docs/view-format.md): computed once from
 * the index with the union model, cached in the store under the image's layer chain, then mapped by
 * the native mount server and read by commit/diff/export through ViewFile.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ImgError, messageOf } from '../store/errors.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';
import { mergeLayers } from '../union/merge.js';
import { encodeView, type ViewLayer } from '../union/view-file-encode.js';
import { VIEW_VERSION } from '../union/view-file-format.js';
import { ViewFile } from '../union/view-file-read.js';

/** The OCI ChainID of a stack of diff IDs (base first). */
export function chainId(diffIds: readonly Digest[]): Digest {
  let chain = diffIds[0]!;
  for (const d of diffIds.slice(1)) chain = `sha256:${createHash('sha256').update(`${chain} ${d}`).digest('hex')}`;
  return chain;
}

const viewsDir = (store: Store): string => path.join(store.root, 'views');
const viewName = (chain: Digest): string => `${chain.slice('sha256:'.length)}.v${VIEW_VERSION}`;

/** Where the view file of `imageId` lives (it may not exist yet). */
export function viewFilePath(store: Store, imageId: Digest): string {
  const layers = store.index.imageLayers(imageId);
  if (!layers.length && !store.index.image(imageId)) throw new ImgError('NOT_FOUND', `image ${imageId}: no layers recorded`);
  // An image without layers (a build's FROM scratch) is an empty root directory.
  return path.join(viewsDir(store), layers.length ? viewName(chainId(layers.map((l) => l.diffId))) : `empty.v${VIEW_VERSION}`);
}

/** The view file of `imageId`, built now if it does not exist; returns its path. */
export function ensureViewFile(store: Store, imageId: Digest): string {
  const file = viewFilePath(store, imageId);
  try {
    closeSync(openSync(file, 'r'));
    return file;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const layers = store.index.imageLayers(imageId);
  const tree = mergeLayers(layers.map((l) => ({ entries: store.index.entries(l.diffId) })));
  const viewLayers: ViewLayer[] = layers.map((l) => ({
    blob: path.relative(store.root, store.blobs.pathOf(l.diffId)), size: store.index.layerSize(l.diffId) ?? 0,
  }));
  let bytes: Buffer;
  try {
    bytes = encodeView(tree, viewLayers);
  } catch (err) {
    throw new ImgError('INVALID_ARGUMENT', `image ${imageId.slice(7, 19)}: cannot build its merged view: ${messageOf(err)}`, { cause: err });
  }
  writeAtomically(file, bytes);
  return file;
}

/** Temp file, fsync, rename, fsync of the directory: readers see the whole file or none. */
function writeAtomically(file: string, bytes: Buffer): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** The read-only merged view of a stored image, for TypeScript consumers (commit, diff, export). */
export function imageView(store: Store, imageId: Digest): ViewFile {
  return new ViewFile(readFileSync(ensureViewFile(store, imageId)), (rel) => path.join(store.root, rel));
}

/** Removes view files that no stored image uses any more (and leftover temp files); returns how many. */
export function pruneViewFiles(store: Store): number {
  const keep = new Set(store.index.images().map((i) => path.basename(viewFilePath(store, i.id))));
  let removed = 0;
  for (const name of readdirSafe(viewsDir(store))) {
    if (keep.has(name)) continue;
    rmSync(path.join(viewsDir(store), name), { force: true });
    removed++;
  }
  return removed;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
