/**
 * Which layers each image uses and how big they are, read from the index once: the image list's
 * shared sizes and system df's totals are both computed from it.
 */
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';

export interface LayerUsage {
  /** The distinct layers of image `id`, base first. */
  layersOf(id: Digest): readonly Digest[];
  /** Uncompressed bytes of a layer (0 if the index has no row for it). */
  sizeOf(diffId: Digest): number;
  /** Bytes of `id`'s layers that another image uses too. */
  sharedBytes(id: Digest): number;
}

export function layerUsage(store: Store): LayerUsage {
  const layers = new Map<Digest, Digest[]>();
  const sizes = new Map<Digest, number>();
  const users = new Map<Digest, number>();
  for (const { imageId, diffId, size } of store.index.allImageLayers()) {
    const own = layers.get(imageId) ?? layers.set(imageId, []).get(imageId)!;
    if (own.includes(diffId)) continue; // an image may list a layer twice; it counts once
    own.push(diffId);
    sizes.set(diffId, size ?? 0);
    users.set(diffId, (users.get(diffId) ?? 0) + 1);
  }
  const sizeOf = (d: Digest) => sizes.get(d) ?? 0;
  return {
    layersOf: (id) => layers.get(id) ?? [],
    sizeOf,
    sharedBytes: (id) => (layers.get(id) ?? []).reduce((n, d) => n + ((users.get(d) ?? 0) > 1 ? sizeOf(d) : 0), 0),
  };
}
