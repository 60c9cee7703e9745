import { ImgError } from '../store/errors.js';
import { shortId } from '../store/digest.js';
import { familiar, formatReference, normalizeReference, parseReference, repoName } from './reference.js';
import type { Store } from '../store/store.js';
import { removeAbandonedPullDirs, type PullDirsUsage } from '../store/pull-dirs.js';
import type { Digest } from '../store/types.js';
import { resolveImage } from './resolve.js';

/** Point DST at the image SRC names. */
export function tagImage(store: Store, src: string, dst: string): Digest {
  const { id } = resolveImage(store, src);
  const ref = normalizeReference(dst);
  if (ref.digest) throw new ImgError('INVALID_ARGUMENT', `tag ${dst}: a tag cannot contain a digest`);
  store.index.tag(formatReference(ref), id);
  return id;
}

export interface RemoveResult {
  untagged: string[];
  deleted: Digest[];
  /** Bytes of the blobs deleted. */
  bytes: number;
}

/**
 * Forget an image's rows, and the layers no image uses any more (call inside a transaction);
 * returns the blobs that may now be unused.
 */
function dropImageRows(store: Store, id: Digest, out: RemoveResult): Digest[] {
  const img = store.index.image(id)!;
  store.index.deleteImage(id);
  const removed = store.index.deleteUnusedLayers();
  out.deleted.push(id, ...removed.diffIds);
  return [id, img.manifestDigest, ...removed.diffIds, ...removed.blobs];
}

/** Delete the blobs among `candidates` that the index no longer refers to. */
async function deleteUnusedBlobs(store: Store, candidates: Iterable<Digest>, out: RemoveResult): Promise<void> {
  const stillUsed = store.index.referencedBlobs();
  for (const d of new Set(candidates)) {
    if (stillUsed.has(d)) continue;
    out.bytes += await store.blobs.size(d).catch(() => 0);
    await store.blobs.delete(d);
  }
}

/** docker rmi: untag a name, delete the image when its last name goes or when named by ID. */
export async function removeImage(store: Store, name: string, force: boolean): Promise<RemoveResult> {
  const out: RemoveResult = { untagged: [], deleted: [], bytes: 0 };
  const { id, name: byName } = resolveImage(store, name);
  const user = store.index.containersOf(id)[0];
  if (byName) {
    const last = store.index.tagsOf(id).length <= 1;
    if (user && last && !force) {
      throw new ImgError('FAILED_PRECONDITION', `conflict: unable to remove repository reference "${familiar(byName)}" (must force) - container ${user.slice(0, 12)} is using its referenced image ${shortId(id)}`);
    }
    store.index.transaction(() => store.index.untag(byName) || store.index.removeRepoDigest(byName));
    out.untagged.push(familiar(byName));
    if (store.index.tagsOf(id).length > 0 || user) return out; // a container still needs the image itself
  } else {
    if (user) {
      throw new ImgError('FAILED_PRECONDITION', `conflict: unable to delete ${shortId(id)} (cannot be forced) - image is being used by container ${user.slice(0, 12)}`);
    }
    const tags = store.index.tagsOf(id);
    const repos = new Set(tags.map((t) => repoName(parseReference(t))));
    if (repos.size > 1 && !force) {
      throw new ImgError('FAILED_PRECONDITION',
        `conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`);
    }
    out.untagged.push(...tags.map(familiar), ...store.index.repoDigestsOf(id).map(familiar));
  }
  await deleteUnusedBlobs(store, store.index.transaction(() => dropImageRows(store, id, out)), out);
  return out;
}

/**
 * docker image prune: remove dangling images (no tag and no digest names
 * them), or with `all` every image no container uses. One transaction decides and
 * removes the rows (a name or container added meanwhile is seen); the blobs go after.
 */
export async function pruneImages(store: Store, opts: { all?: boolean } = {}): Promise<RemoveResult> {
  const out: RemoveResult = { untagged: [], deleted: [], bytes: 0 };
  const candidates = store.index.transaction(() => {
    const blobs: Digest[] = [];
    for (const img of store.index.images()) {
      if (store.index.containersOf(img.id).length > 0) continue;
      const tags = store.index.tagsOf(img.id);
      const digests = store.index.repoDigestsOf(img.id);
      if (tags.length + digests.length > 0 && !opts.all) continue;
      out.untagged.push(...[...tags, ...digests].map(familiar));
      blobs.push(...dropImageRows(store, img.id, out)); // its names go with its row (cascade)
    }
    return blobs;
  });
  await deleteUnusedBlobs(store, candidates, out);
  return out;
}

/**
 * Remove blobs nothing in the index refers to (left by a crash between publish and commit),
 * and the staging of pulls whose process is gone (a killed pull, or an endless download).
 */
export async function collectGarbage(store: Store): Promise<{ removed: Digest[]; bytes: number; pulls: PullDirsUsage }> {
  const used = store.index.referencedBlobs();
  const removed: Digest[] = [];
  let bytes = 0;
  for (const d of await store.blobs.list()) {
    if (used.has(d)) continue;
    bytes += await store.blobs.size(d).catch(() => 0);
    await store.blobs.delete(d);
    removed.push(d);
  }
  return { removed, bytes, pulls: await removeAbandonedPullDirs(store.root) };
}
