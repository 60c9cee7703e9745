import type { Store } from '../store/store.js';

export interface StoreInfo {
  root: string;
  images: number;
  layers: number;
  blobs: number;
  bytesOnDisk: number;
  /** Uncompressed bytes that images share instead of storing again. */
  bytesSaved: number;
}

export async function storeInfo(store: Store): Promise<StoreInfo> {
  const c = store.index.counts();
  const blobs = await store.blobs.list();
  let bytesOnDisk = 0;
  for (const d of blobs) bytesOnDisk += await store.blobs.size(d).catch(() => 0);
  return {
    root: store.root, images: c.images, layers: c.layers, blobs: blobs.length,
    bytesOnDisk, bytesSaved: Math.max(0, c.imageBytes - c.layerBytes),
  };
}
