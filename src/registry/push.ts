/** docker push: every blob (existing, mounted or uploaded), then the stored manifest bytes under the tag. */
import { readFile } from 'node:fs/promises';
import { ImgError, withContext } from '../store/errors.js';
import { shortId } from '../store/digest.js';
import { MediaType, parseJson, validateManifest, type Descriptor, type Manifest } from '../image/oci.js';
import { formatReference, normalizeReference, parseReference, repoName, type Reference } from '../image/reference.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';
import { openRegistry } from './client.js';
import { mapLimit } from './limit.js';
import { putManifest } from './manifests.js';
import type { RegistryTransport } from './transport.js';
import { pushBlob, type BlobSource, type UploadOutcome } from './upload.js';
import { findImage } from '../image/resolve.js';

export type PushEvent =
  | { kind: 'start'; text: string }
  | { kind: 'layer'; id: string; status: string; current?: number; total?: number };

export interface PushOpts {
  /** Blobs uploaded at once (docker's default is 5). */
  maxConcurrent?: number;
  onEvent?: (e: PushEvent) => void;
  transport?: RegistryTransport;
}

export interface PushResult {
  tag: string;
  digest: Digest;
  size: number;
}

interface Plan {
  manifest: { bytes: Buffer; mediaType: string };
  layers: Descriptor[];
  config: Descriptor;
}

function source(store: Store, d: Descriptor): BlobSource {
  const digest = d.digest;
  return {
    digest, size: d.size,
    open: (start, end) => (start === 0 && end === d.size ? store.blobs.open(digest) : store.blobs.open(digest, { start, end })),
  };
}

/** docker's uncompressed layer type for the manifest's family. */
const plainLayerType = (manifestType: string) => (manifestType === MediaType.dockerManifest ? MediaType.dockerLayer : MediaType.ociLayer);

/** Layers whose compressed blob is gone are pushed as their uncompressed tar, which changes the manifest. */
async function planPush(store: Store, id: Digest): Promise<Plan> {
  const img = store.index.image(id)!;
  const bytes = await readFile(store.blobs.pathOf(img.manifestDigest));
  const m: Manifest = validateManifest(parseJson(bytes, `manifest ${img.manifestDigest}`), `manifest ${img.manifestDigest}`);
  const mediaType = m.mediaType ?? img.manifestMediaType;
  const order = store.index.imageLayers(id);
  let rewritten = false;
  const layers: Descriptor[] = [];
  for (const [i, l] of m.layers.entries()) {
    if (await store.blobs.has(l.digest)) {
      layers.push(l);
      continue;
    }
    const diffId = order[i]?.diffId;
    if (!diffId || !(await store.blobs.has(diffId))) throw new ImgError('NOT_FOUND', `layer ${l.digest}: not in the store`);
    layers.push({ mediaType: plainLayerType(mediaType), digest: diffId, size: await store.blobs.size(diffId) });
    rewritten = true;
  }
  const manifestBytes = rewritten ? Buffer.from(JSON.stringify({ ...m, layers })) : bytes;
  return { manifest: { bytes: manifestBytes, mediaType }, layers, config: m.config };
}

/** Other repositories of `registry` this image's blobs were pulled from or pushed to (repo digests). */
function mountSources(store: Store, ref: Reference, digest: Digest): string[] {
  const out = new Set<string>();
  for (const img of store.index.images()) {
    if (!store.index.imageLayers(img.id).some((l) => l.blobDigest === digest)) continue;
    for (const name of store.index.repoDigestsOf(img.id)) {
      const r = parseReference(name);
      if (r.registry === ref.registry && r.repository !== ref.repository) out.add(r.repository);
    }
  }
  return [...out];
}

const OUTCOME: Record<UploadOutcome, string> = { exists: 'Layer already exists', mounted: 'Mounted from', pushed: 'Pushed' };

async function pushLayers(store: Store, t: RegistryTransport, ref: Reference, plan: Plan, o: PushOpts): Promise<void> {
  const emit = o.onEvent ?? (() => undefined);
  const topFirst = [...plan.layers].reverse();
  for (const l of topFirst) emit({ kind: 'layer', id: shortId(l.digest), status: 'Preparing' });
  await mapLimit(topFirst, o.maxConcurrent ?? 5, async (l) => {
    const id = shortId(l.digest);
    const from = mountSources(store, ref, l.digest);
    const progress = (current: number) => emit({ kind: 'layer', id, status: 'Pushing', current, total: l.size });
    const outcome = await pushBlob(t, ref.repository, source(store, l), from, progress);
    emit({ kind: 'layer', id, status: outcome === 'mounted' ? `${OUTCOME.mounted} ${from[0]}` : OUTCOME[outcome] });
  });
  await pushBlob(t, ref.repository, source(store, plan.config), []);
}

async function pushRef(store: Store, ref: Reference, o: PushOpts): Promise<PushResult> {
  const hit = findImage(store, formatReference(ref));
  if (!hit) throw new ImgError('NOT_FOUND', `An image does not exist locally with the tag: ${formatReference(ref, { familiar: true })}`);
  const plan = await planPush(store, hit.id);
  const t = o.transport ?? (await openRegistry(ref.registry, { root: store.root, noMirrors: true }));
  o.onEvent?.({ kind: 'start', text: `The push refers to repository [${repoName(ref)}]` });
  await pushLayers(store, t, ref, plan, o);
  const digest = await putManifest(t, ref.repository, ref.tag!, plan.manifest);
  store.index.addRepoDigest(`${repoName(ref)}@${digest}`, hit.id);
  return { tag: ref.tag!, digest, size: plan.manifest.bytes.length };
}

/** Push the image tagged `refText` to its registry; errors read `push REF: why`. */
export async function push(store: Store, refText: string, o: PushOpts = {}): Promise<PushResult> {
  const ref = normalizeReference(refText);
  if (ref.digest) throw new ImgError('INVALID_ARGUMENT', `push ${refText}: push a tag, not a digest`);
  try {
    return await pushRef(store, ref, o);
  } catch (err) {
    throw withContext(`push ${refText}`, err);
  }
}
