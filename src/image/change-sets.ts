/** Per-layer changes of an image, computed from its layers' entries on first use and kept in the index. */
import { QueryIndex } from '../store/query-index.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';
import { layerChanges } from '../union/layer-changes.js';

/** The id of the image's stored change set, computing it (one mergeLayers pass) when missing. */
export function changeSet(store: Store, queries: QueryIndex, imageId: Digest): number {
  const have = queries.changeSetId(imageId);
  if (have !== undefined) return have;
  const layers = store.index.imageLayers(imageId).map((l) => ({ entries: store.index.entries(l.diffId) }));
  const rows = layerChanges(layers).flat().map(({ layer, ...c }) => ({ position: layer, ...c }));
  return queries.putChangeSet(imageId, rows);
}
