/** lamina layers: one row per layer with docker history's columns and what the layer changes. */
import { QueryIndex } from '../store/query-index.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';
import { imageQueryData } from './query-data.js';
import { readConfig } from './inspect.js';
import type { HistoryEntry } from './oci.js';
import { resolveImage } from './resolve.js';

export interface LayerRow {
  /** 1 = the base layer. */
  index: number;
  diffId: Digest;
  /** The layer digest the manifest names. */
  digest: Digest;
  /** Uncompressed bytes. */
  size: number;
  /** The history entry that made the layer, when the config has one. */
  history: HistoryEntry;
  /** What `lamina diff IMAGE --layer N` lists, counted. */
  added: number;
  changed: number;
  deleted: number;
}

/** The image's layers, base first, each with its history entry (empty_layer entries skipped) and change counts. */
export async function layerReport(store: Store, ref: string): Promise<{ id: Digest; layers: LayerRow[] }> {
  const { id } = resolveImage(store, ref);
  const queries = new QueryIndex(store.index.db);
  const counts = queries.changeCounts(imageQueryData(store, queries, id));
  const history = ((await readConfig(store, id)).history ?? []).filter((h) => !h.empty_layer);
  const layers = store.index.imageLayers(id).map((l) => ({
    index: l.position + 1, diffId: l.diffId, digest: l.blobDigest, size: store.index.layerSize(l.diffId) ?? 0,
    history: history[l.position] ?? {}, ...(counts.get(l.position) ?? { added: 0, changed: 0, deleted: 0 }),
  }));
  return { id, layers };
}
