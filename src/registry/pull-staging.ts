/**
 * A Staging that outlives a killed pull: `<root>/pulls/<manifest hex>/`. Nothing
 * in it is visible in the store until registerImage publishes it, and the next
 * pull of the same manifest re-reads the layers it finished instead of fetching
 * them again. A pull that ends (success or error) removes it.
 */
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { BlobStore, pidAlive as alive } from '../store/blobs.js';
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

/** Abandoned pull directories older than this are removed by the next pull. */
const STALE_MS = 24 * 3600_000;

const ownerPid = async (dir: string): Promise<number> => Number(await readFile(path.join(dir, 'owner'), 'utf8').catch(() => 'NaN'));

/** Take `dir` for this process unless a live process holds it. */
async function claim(dir: string): Promise<boolean> {
  const owner = path.join(dir, 'owner');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(owner, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (alive(await ownerPid(dir))) return false;
      await rm(owner, { force: true });
    }
  }
  return false;
}

async function removeStale(pullsDir: string, keep: string): Promise<void> {
  for (const name of await readdir(pullsDir).catch(() => [] as string[])) {
    const dir = path.join(pullsDir, name);
    if (dir === keep) continue;
    const st = await stat(dir).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > STALE_MS && !alive(await ownerPid(dir))) await rm(dir, { recursive: true, force: true });
  }
}

/** Staging for pulling the image manifest `manifest`; a private one when another live pull holds it. */
export async function openPullStaging(store: Store, manifest: Digest): Promise<PullStaging> {
  const pullsDir = path.join(store.root, 'pulls');
  const dir = path.join(pullsDir, hexOf(manifest));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await removeStale(pullsDir, dir);
  if (!(await claim(dir))) {
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
