import { ImgError } from '../store/errors.js';
import { shortId } from '../store/digest.js';
import { formatReference, normalizeReference, parseReference, repoName } from './reference.js';
import type { ImageRecord } from '../store/index-db.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';
import { resolveImage } from './resolve.js';
import { containers } from '../container/containers.js';
import { buildCache } from './build-cache.js';

export interface ImageRow {
  image: ImageRecord;
  repository: string;
  tag: string;
  digest?: string;
}

function splitTag(name: string): { repository: string; tag: string } {
  const r = parseReference(name);
  return { repository: formatReference({ registry: r.registry, repository: r.repository }, { familiar: true }), tag: r.tag ?? '<none>' };
}

/**
 * One row per tag (docker's `images`), untagged images as `<none>`; filtered by REPO[:TAG].
 * Untagged images a build made further steps on (docker's intermediate images) only with `all`.
 */
export function listImages(store: Store, filter?: string, all = false): ImageRow[] {
  const want = filter ? parseReference(filter) : undefined;
  const rows: ImageRow[] = [];
  const cache = buildCache(store);
  for (const image of store.index.images()) {
    const digests = store.index.repoDigestsOf(image.id);
    const digestOf = (repo: string) => digests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1];
    const tags = store.index.tagsOf(image.id);
    for (const t of tags) {
      const r = parseReference(t);
      if (want && (repoName(want) !== repoName(r) || (want.tag && want.tag !== r.tag))) continue;
      rows.push({ image, ...splitTag(t), digest: digestOf(repoName(r)) });
    }
    if (tags.length === 0 && !want && (all || !cache.hasChild(image.id))) rows.push({ image, repository: '<none>', tag: '<none>', digest: digests[0]?.split('@')[1] });
  }
  return rows;
}

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
}

/** Forget an image entirely; unused layers and blobs go with it. */
async function deleteImage(store: Store, id: Digest, out: RemoveResult): Promise<void> {
  const img = store.index.image(id)!;
  const removed = store.index.transaction(() => {
    store.index.deleteImage(id);
    return store.index.deleteUnusedLayers();
  });
  const stillUsed = store.index.referencedBlobs();
  for (const d of [id, img.manifestDigest, ...removed.diffIds, ...removed.blobs]) {
    if (!stillUsed.has(d)) await store.blobs.delete(d);
  }
  out.deleted.push(id, ...removed.diffIds);
}

/** docker rmi: untag a name, delete the image when its last name goes or when named by ID. */
export async function removeImage(store: Store, name: string, force: boolean): Promise<RemoveResult> {
  const out: RemoveResult = { untagged: [], deleted: [] };
  const { id, name: byName } = resolveImage(store, name);
  const familiar = (n: string) => formatReference(parseReference(n), { familiar: true });
  const user = containers(store).ofImage(id)[0];
  if (byName) {
    const last = store.index.tagsOf(id).length <= 1;
    if (user && last && !force) {
      throw new ImgError('FAILED_PRECONDITION', `conflict: unable to remove repository reference "${familiar(byName)}" (must force) - container ${user.id.slice(0, 12)} is using its referenced image ${shortId(id)}`);
    }
    store.index.transaction(() => store.index.untag(byName) || store.index.removeRepoDigest(byName));
    out.untagged.push(familiar(byName));
    if (store.index.tagsOf(id).length > 0 || user) return out; // a container still needs the image itself
  } else {
    if (user) {
      throw new ImgError('FAILED_PRECONDITION', `conflict: unable to delete ${shortId(id)} (cannot be forced) - image is being used by container ${user.id.slice(0, 12)}`);
    }
    const tags = store.index.tagsOf(id);
    const repos = new Set(tags.map((t) => repoName(parseReference(t))));
    if (repos.size > 1 && !force) {
      throw new ImgError('FAILED_PRECONDITION',
        `conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`);
    }
    out.untagged.push(...tags.map(familiar), ...store.index.repoDigestsOf(id).map(familiar));
  }
  await deleteImage(store, id, out);
  return out;
}

/** docker image prune: remove every image without a tag. */
export async function pruneImages(store: Store): Promise<RemoveResult> {
  const out: RemoveResult = { untagged: [], deleted: [] };
  for (const img of store.index.images()) {
    if (store.index.tagsOf(img.id).length === 0 && containers(store).ofImage(img.id).length === 0) await deleteImage(store, img.id, out);
  }
  return out;
}

/** Remove blobs nothing in the index refers to (left by a crash between publish and commit). */
export async function collectGarbage(store: Store): Promise<{ removed: Digest[]; bytes: number }> {
  const used = store.index.referencedBlobs();
  const removed: Digest[] = [];
  let bytes = 0;
  for (const d of await store.blobs.list()) {
    if (used.has(d)) continue;
    bytes += await store.blobs.size(d).catch(() => 0);
    await store.blobs.delete(d);
    removed.push(d);
  }
  return { removed, bytes };
}
