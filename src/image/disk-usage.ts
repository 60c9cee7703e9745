/**
 * `system df` for images: each layer counted once however many images share
 * it (docker's SIZE column adds shared layers again, a known complaint), and
 * reclaimable bytes = layers that no image in use by a container needs.
 */
import type { Digest } from '../store/types.js';
import type { ImageSummary } from './image-list.js';
import type { LayerUsage } from './layer-usage.js';

export interface ImageDiskUsage {
  total: number;
  active: number;
  /** Bytes of every distinct layer. */
  size: number;
  /** Bytes of the layers only unused images need. */
  reclaimable: number;
}

/** Totals over `images`, from the same layer usage their summaries were made with. */
export function imageDiskUsage(usage: LayerUsage, images: readonly ImageSummary[]): ImageDiskUsage {
  const all = new Set<Digest>();
  const used = new Set<Digest>();
  for (const img of images) {
    for (const l of usage.layersOf(img.id)) {
      all.add(l);
      if (img.containers > 0) used.add(l);
    }
  }
  const bytes = (ls: Iterable<Digest>) => [...ls].reduce((n, l) => n + usage.sizeOf(l), 0);
  const size = bytes(all);
  return { total: images.length, active: images.filter((i) => i.containers > 0).length, size, reclaimable: size - bytes(used) };
}
