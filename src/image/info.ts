import { duBytes, pullDirsUsage } from '../store/pull-dirs.js';
import type { Store } from '../store/store.js';

export interface StoreInfo {
  root: string;
  images: number;
  layers: number;
  blobs: number;
  bytesOnDisk: number;
  /** Uncompressed bytes that images share instead of storing again. */
  bytesSaved: number;
  /** Unfinished pulls (live or abandoned) and the bytes they and running ingests hold outside the store. */
  staging: { pulls: number; bytes: number };
}

export async function storeInfo(store: Store): Promise<StoreInfo> {
  const c = store.index.counts();
  const blobs = await store.blobs.list();
  let bytesOnDisk = 0;
  for (const d of blobs) bytesOnDisk += await store.blobs.size(d).catch(() => 0);
  const pulls = await pullDirsUsage(store.root);
  return {
    root: store.root, images: c.images, layers: c.layers, blobs: blobs.length,
    bytesOnDisk, bytesSaved: Math.max(0, c.imageBytes - c.layerBytes),
    staging: { pulls: pulls.dirs, bytes: pulls.bytes + (await duBytes(store.blobs.ingestDir)) },
  };
}
