import { ImgError } from '../store/errors.js';
import { isDigest } from '../store/digest.js';
import { formatReference, looksLikeIdPrefix, normalizeReference, repoName } from './reference.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';

export interface ResolvedImage {
  id: Digest;
  /** The full tag or repo-digest name used, when the image was named by reference. */
  name?: string;
}

function byIdPrefix(store: Store, s: string): Digest | undefined {
  const prefix = s.startsWith('sha256:') ? s : `sha256:${s}`;
  const ids = store.index.imagesByPrefix(prefix);
  if (ids.length > 1) throw new ImgError('INVALID_ARGUMENT', `image ID prefix "${s}" is ambiguous: it matches ${ids.length} images`);
  return ids[0];
}

function byReference(store: Store, s: string): ResolvedImage | undefined {
  let ref;
  try {
    ref = normalizeReference(s);
  } catch (err) {
    if (looksLikeIdPrefix(s)) return undefined;
    throw err;
  }
  if (ref.digest) {
    const name = `${repoName(ref)}@${ref.digest}`;
    const id = store.index.repoDigestTarget(name) ?? (store.index.image(ref.digest) ? ref.digest : undefined);
    return id && { id, name };
  }
  const name = formatReference(ref);
  const id = store.index.tagTarget(name);
  return id && { id, name };
}

/**
 * Find an image as docker does: a full ID, then a tag or repo digest, then a
 * unique ID prefix of 4+ hex digits.
 */
export function findImage(store: Store, s: string): ResolvedImage | undefined {
  if (isDigest(s) && store.index.image(s)) return { id: s };
  const hit = byReference(store, s);
  if (hit) return hit;
  if (!looksLikeIdPrefix(s)) return undefined;
  const id = byIdPrefix(store, s);
  return id && { id };
}

/** Like findImage, but a missing image is an error naming it. */
export function resolveImage(store: Store, s: string): ResolvedImage {
  const hit = findImage(store, s);
  if (!hit) throw new ImgError('NOT_FOUND', `No such image: ${s}`);
  return hit;
}
