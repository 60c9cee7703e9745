/**
 * docker's image list (the daemon's image.Summary): one entry per image with
 * its names, sizes and container count, filtered by --filter.
 */
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';
import { boolFilter, labelsMatch, type Filters } from './filters.js';
import { globMatch } from './glob-match.js';
import { readConfig } from './inspect.js';
import { layerUsage } from './layer-usage.js';
import { familiar } from './reference.js';
import { resolveImage } from './resolve.js';

export interface ImageSummary {
  id: Digest;
  /** Familiar NAME:TAG names ("busybox:latest"). */
  repoTags: string[];
  /** Familiar NAME@DIGEST names. */
  repoDigests: string[];
  created?: string;
  /** Every layer counted (docker's SIZE: "cumulative space taken up by the image and all its parent images"). */
  size: number;
  /** Bytes of layers that other images use too. */
  sharedSize: number;
  /** Containers created from the image. */
  containers: number;
}


/** FamiliarMatch: the pattern against NAME:TAG (or NAME@DIGEST), then against NAME alone. */
function referenceMatches(pattern: string, name: string): boolean {
  if (globMatch(pattern, name)) return true;
  const bare = name.replace(/@.*$/, '').replace(/:[^:/]*$/, '');
  return globMatch(pattern, bare);
}

const createdMs = (iso: string | undefined) => (iso ? Date.parse(iso) : NaN);

/**
 * Every image, newest first, that passes `filters`; a reference filter also narrows the names shown.
 * `usage` is read here unless the caller needs it too (system df).
 */
export async function imageSummaries(store: Store, filters: Filters = new Map(), usage = layerUsage(store)): Promise<ImageSummary[]> {
  const bound = (key: 'before' | 'since') => filters.get(key)?.map((r) => createdMs(store.index.image(resolveImage(store, r).id)?.created));
  const before = bound('before');
  const since = bound('since');
  const dangling = filters.get('dangling')?.map((v) => boolFilter('dangling', v));
  const patterns = filters.get('reference');
  const out: ImageSummary[] = [];
  for (const img of store.index.images()) {
    let repoTags = store.index.tagsOf(img.id).map(familiar);
    let repoDigests = store.index.repoDigestsOf(img.id).map(familiar);
    if (dangling && !dangling.some((d) => d === (repoTags.length === 0))) continue;
    if (patterns) {
      repoTags = repoTags.filter((t) => patterns.some((p) => referenceMatches(p, t)));
      repoDigests = repoDigests.filter((t) => patterns.some((p) => referenceMatches(p, t)));
      if (repoTags.length === 0 && repoDigests.length === 0) continue;
    }
    const t = createdMs(img.created);
    if (before && !before.every((b) => t < b)) continue;
    if (since && !since.every((s) => t > s)) continue;
    if (filters.has('label') && !labelsMatch(filters, (await readConfig(store, img.id)).config?.Labels ?? undefined)) continue;
    out.push({ id: img.id, repoTags, repoDigests, created: img.created, size: img.size,
      sharedSize: usage.sharedBytes(img.id), containers: store.index.containersOf(img.id).length });
  }
  return out.sort((a, b) => (createdMs(b.created) || 0) - (createdMs(a.created) || 0) || a.id.localeCompare(b.id));
}
