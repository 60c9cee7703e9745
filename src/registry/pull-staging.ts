/**
 * A Staging that outlives a killed pull: `<root>/pulls/<manifest hex>/`. Nothing
 * in it is visible in the store until registerImage publishes it, and the next
 * pull of the same manifest re-reads the layers it finished instead of fetching
 * them again. A pull that ends (success or error) removes it.
 */
import { rm } from 'node:fs/promises';
import { BlobStore } from '../store/blobs.js';
import { claimPullDir, removeAbandonedPullDirs } from '../store/pull-dirs.js';
import { hexOf } from '../store/digest.js';
import { Staging, type Store } from '../store/store.js';
import type { Digest } from '../store/types.js';

export interface PullStaging {
  staging: Staging;
  /** Where a finished blob of an earlier, killed pull is, if any. */
  localPath(d: Digest): Promise<string | undefined>;
  /** Remove everything staged (after publishing, or on failure). */
  release(): Promise<void>;
}

/** Abandoned pull directories older than this are removed by the next pull (`lamina gc` removes them at once). */
const STALE_MS = 24 * 3600_000;

/** Staging for pulling the image manifest `manifest`; a private one when another live pull holds it. */
export async function openPullStaging(store: Store, manifest: Digest): Promise<PullStaging> {
  const { dir, claimed } = await claimPullDir(store.root, hexOf(manifest));
  await removeAbandonedPullDirs(store.root, STALE_MS, dir);
  if (!claimed) {
    const staging = await store.staging();
    return { staging, localPath: async () => undefined, release: () => staging.discard() };
  }
  const blobs = new BlobStore(dir);
  await blobs.init();
  await blobs.cleanIngest();
  const staging = new Staging(store.blobs, blobs, dir);
  return {
    staging,
    async localPath(d) {
      if (await blobs.has(d)) return blobs.pathOf(d);
      return (await store.blobs.has(d)) ? store.blobs.pathOf(d) : undefined;
    },
    release: () => rm(dir, { recursive: true, force: true }),
  };
}
