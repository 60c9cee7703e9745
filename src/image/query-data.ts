/**
 * What lamina's index queries read besides layer entries, computed once per image from one
 * mergeLayers pass and kept in the index: the merged view as rows (view_entries, for find and
 * image diffs) and what each layer changes (layer_changes, for layers, which and diff --layer).
 */
import { QueryIndex } from '../store/query-index.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';
import { ViewIndex, type NewViewRow } from '../store/view-index.js';
import { mergeWithChanges } from '../union/layer-changes.js';

/** Makes sure the image's view rows and change set are stored; returns the change set's id. */
export function imageQueryData(store: Store, queries: QueryIndex, imageId: Digest): number {
  const views = new ViewIndex(store.index.db);
  const setId = queries.changeSetId(imageId);
  const hasView = views.stats(imageId) !== undefined;
  if (setId !== undefined && hasView) return setId;
  const layers = store.index.imageLayers(imageId);
  const { tree, changes } = mergeWithChanges(layers.map((l) => ({ entries: store.index.entries(l.diffId) })));
  if (!hasView) {
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
  return setId ?? queries.putChangeSet(imageId, changes.flat().map(({ layer, ...c }) => ({ position: layer, ...c })));
}
