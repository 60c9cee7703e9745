import { familiar } from './reference.js';
import { readFile } from 'node:fs/promises';
import { parseJson, validateConfig, type ImageConfig, type HistoryEntry } from './oci.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';
import { resolveImage } from './resolve.js';
import { buildCache } from './build-cache.js';

export async function readConfig(store: Store, id: Digest): Promise<ImageConfig> {
  return validateConfig(parseJson(await readFile(store.blobs.pathOf(id)), `image ${id}`), `image ${id}`);
}


/** docker image inspect, plus each layer's stored digests. */
export async function inspectImage(store: Store, name: string): Promise<Record<string, unknown>> {
  const { id } = resolveImage(store, name);
  const img = store.index.image(id)!;
  const config = await readConfig(store, id);
  const layers = store.index.imageLayers(id);
  return {
    Id: id,
    RepoTags: store.index.tagsOf(id).map(familiar),
    RepoDigests: store.index.repoDigestsOf(id).map(familiar),
    Parent: buildCache(store).parentOf(id) ?? '',
    Comment: config.history?.at(-1)?.comment ?? '',
    Created: config.created ?? '',
    Author: config.author ?? '',
    Config: config.config ?? {},
    Architecture: config.architecture,
    Variant: config.variant,
    Os: config.os,
    Size: img.size,
    RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
    Manifest: { Digest: img.manifestDigest, MediaType: img.manifestMediaType },
    LayerBlobs: layers.map((l) => ({
      DiffID: l.diffId,
      Digest: l.blobDigest,
      Stored: store.index.blobsOfLayer(l.diffId).map((b) => ({ Digest: b.digest, MediaType: b.mediaType, Size: b.size })),
    })),
  };
}

export interface HistoryRow {
  id: string;
  entry: HistoryEntry;
  size: number;
}

/**
 * docker history: newest first; each row built here shows the image its step made (the parents
 * the build cache knows), then the base image's ID on its top row, `<missing>` below.
 */
export async function imageHistory(store: Store, name: string): Promise<HistoryRow[]> {
  const { id } = resolveImage(store, name);
  const config = await readConfig(store, id);
  const layers = store.index.imageLayers(id);
  const history = config.history?.length ? config.history : layers.map(() => ({}) as HistoryEntry);
  let layerIdx = 0;
  const rows = history.map((entry) => {
    const size = entry.empty_layer ? 0 : store.index.layerSize(layers[layerIdx++]?.diffId as Digest) ?? 0;
    return { id: '<missing>', entry, size };
  });
  rows.reverse();
  const cache = buildCache(store);
  let cur: Digest | undefined = id;
  for (const row of rows) {
    if (!cur) break;
    row.id = cur;
    cur = cache.parentOf(cur);
  }
  return rows;
}
