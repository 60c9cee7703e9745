/** docker pull: manifest (platform choice for indexes), config, layers in parallel into a staging, then one registration. */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hasCode, ImgError, messageOf, withContext } from '../store/errors.js';
import { parseDigest, shortId } from '../store/digest.js';
import { layerCompression, MediaType, parseJson, validateConfig, validateIndex, validateManifest, type Descriptor, type ImageConfig, type Manifest, type Platform } from '../image/oci.js';
import { formatReference, normalizeReference, repoName, type Reference } from '../image/reference.js';
import type { Store } from '../store/store.js';
import { ingestLayer } from '../image/tar/ingest.js';
import type { Digest } from '../store/types.js';
import { openRegistry } from './client.js';
import { blobBytes, fetchSmallBlob } from './download.js';
import { mapLimit } from './limit.js';
import { fetchManifest, type RawManifest } from './manifests.js';
import { openPullStaging, type PullStaging } from './pull-staging.js';
import type { RegistryTransport } from './transport.js';
import { DrainableSource } from './drainable.js';
import { hostPlatform, pickPlatform } from '../image/platform.js';
import { registerImage, type StagedLayer } from '../image/register.js';

export type LayerStatus = 'Pulling fs layer' | 'Already exists' | 'Downloading' | 'Retrying' | 'Verifying Checksum' | 'Download complete' | 'Pull complete';

export type PullEvent =
  | { kind: 'start'; text: string }
  | { kind: 'layer'; id: string; status: LayerStatus; current?: number; total?: number };

export interface PullOpts {
  /** An explicit platform; a single-platform image that does not match is an error. */
  platform?: Platform;
  /** Layers fetched at once (docker's default is 3). */
  maxConcurrent?: number;
  onEvent?: (e: PullEvent) => void;
  /** A ready transport (tests); otherwise built from the store's registries.json and saved credentials. */
  transport?: RegistryTransport;
}

export interface PullResult {
  /** The full reference pulled: 'docker.io/library/busybox:latest'. */
  name: string;
  /** As docker shows it in `Status:` lines: 'busybox:latest'. */
  familiar: string;
  /** Digest of what the reference points to (an index for multi-platform images). */
  digest: Digest;
  id: Digest;
  upToDate: boolean;
}

interface Job {
  store: Store;
  t: RegistryTransport;
  repo: string;
  ps: PullStaging;
  config: ImageConfig;
  emit: (e: PullEvent) => void;
  /** Aborted when one layer fails, so the others stop downloading. */
  stop: AbortController;
}

const isIndex = (mt: string) => mt === MediaType.ociIndex || mt === MediaType.dockerManifestList;

/** The image manifest to pull: the reference itself, or the index entry for the platform. */
async function resolveManifest(t: RegistryTransport, repo: string, top: RawManifest, platform: Platform | undefined): Promise<RawManifest> {
  if (!isIndex(top.mediaType)) return top;
  const idx = validateIndex(parseJson(top.bytes, `index ${top.digest}`), `index ${top.digest}`);
  const want = platform ?? hostPlatform();
  const desc = pickPlatform(idx.manifests, want, `index ${top.digest}`);
  const m = await fetchManifest(t, repo, parseDigest(desc.digest, 'index entry digest'));
  if (isIndex(m.mediaType)) throw new ImgError('INVALID_ARGUMENT', `index ${top.digest}: nested indexes are not supported`);
  return m;
}

function checkPlatform(ref: Reference, c: ImageConfig, want: Platform | undefined): void {
  if (!want || (c.os === want.os && c.architecture === want.architecture && (!want.variant || c.variant === want.variant))) return;
  const show = (p: { os: string; architecture: string; variant?: string }) => [p.os, p.architecture, p.variant].filter(Boolean).join('/');
  throw new ImgError('NOT_FOUND', `image with reference ${formatReference(ref, { familiar: true })} was found but does not match the specified platform: wanted ${show(want)}, actual: ${show(c)}`);
}

async function configOf(store: Store, t: RegistryTransport, repo: string, desc: Descriptor): Promise<Buffer> {
  const d = parseDigest(desc.digest, 'config digest');
  if (await store.blobs.has(d)) return readFile(store.blobs.pathOf(d));
  return fetchSmallBlob(t, repo, desc);
}

/** A layer the index already has: no bytes move. */
function known(store: Store, desc: Descriptor): StagedLayer | undefined {
  const rec = store.index.blobByDigest(desc.digest);
  if (!rec) return undefined;
  return { diffId: rec.diffId, descriptor: desc, compression: rec.compression, uncompressedSize: store.index.layerSize(rec.diffId) ?? 0 };
}

/**
 * Ingest a layer from the registry (or from an earlier killed pull's staging).
 * Like docker, a layer that fails to unpack is first checked against its
 * digest, so corruption in transit or in the registry reads as a digest mismatch.
 */
async function fetchLayer(j: Job, desc: Descriptor, i: number): Promise<StagedLayer> {
  const id = shortId(desc.digest);
  const what = `layer ${desc.digest}`;
  const local = await j.ps.localPath(desc.digest);
  const progress = (current: number) => j.emit({ kind: 'layer', id, status: 'Downloading', current, total: desc.size });
  const onResume = () => j.emit({ kind: 'layer', id, status: 'Retrying' });
  const src = new DrainableSource(local ? createReadStream(local) : blobBytes(j.t, j.repo, desc, { onProgress: progress, onResume, signal: j.stop.signal }));
  if (!local) progress(0);
  try {
    const r = await ingestLayer(j.ps.staging.blobs, src, { expectDigest: desc.digest, expectDiffId: j.config.rootfs.diff_ids[i], what });
    for (const status of ['Verifying Checksum', 'Download complete', 'Pull complete'] as const) j.emit({ kind: 'layer', id, status });
    return { diffId: r.diffId, descriptor: desc, compression: r.compression, uncompressedSize: r.uncompressedSize, entries: r.entries };
  } catch (err) {
    throw local ? err : await explain(err, src, what);
  } finally {
    await src.close();
  }
}

/** A format error may be corruption in disguise: the rest of the download (bounded by its size) tells. */
async function explain(err: unknown, src: DrainableSource, what: string): Promise<unknown> {
  if (!hasCode(err, 'INVALID_ARGUMENT')) return err; // network, disk, digest: it is what it says
  try {
    await src.drain();
  } catch (drained) {
    if (hasCode(drained, 'DIGEST_MISMATCH')) return new ImgError('DIGEST_MISMATCH', `${what}: ${messageOf(drained)}`, { cause: err });
  }
  return err;
}

async function layersOf(j: Job, m: Manifest, quiet: boolean, maxConcurrent: number): Promise<StagedLayer[]> {
  const have = m.layers.map((d) => known(j.store, d));
  m.layers.forEach((d, i) => {
    layerCompression(d.mediaType, `layer ${d.digest}`);
    parseDigest(d.digest, 'layer digest');
    if (!quiet) j.emit({ kind: 'layer', id: shortId(d.digest), status: have[i] ? 'Already exists' : 'Pulling fs layer' });
  });
  return mapLimit(m.layers, maxConcurrent, async (d, i) => {
    try {
      return have[i] ?? (await fetchLayer(j, d, i));
    } catch (err) {
      j.stop.abort(err);
      throw err;
    }
  });
}

function previousTarget(store: Store, name: string, digestName: string): Digest | undefined {
  return name ? store.index.tagTarget(name) : store.index.repoDigestTarget(digestName);
}

async function pullRef(store: Store, ref: Reference, o: PullOpts): Promise<PullResult> {
  const emit = o.onEvent ?? (() => undefined);
  const t = o.transport ?? (await openRegistry(ref.registry, { root: store.root }));
  const repo = ref.repository;
  const reference = ref.digest ?? ref.tag!;
  emit({ kind: 'start', text: `${reference}: Pulling from ${ref.repository}` });
  const top = await fetchManifest(t, repo, reference);
  const raw = await resolveManifest(t, repo, top, o.platform);
  const m = validateManifest(parseJson(raw.bytes, `manifest ${raw.digest}`), `manifest ${raw.digest}`);
  const configBytes = await configOf(store, t, repo, m.config);
  const config = validateConfig(parseJson(configBytes, `config ${m.config.digest}`), `config ${m.config.digest}`);
  checkPlatform(ref, config, o.platform);
  const name = ref.tag ? formatReference(ref) : '';
  const digestName = `${repoName(ref)}@${top.digest}`;
  const before = previousTarget(store, name, digestName);
  const ps = await openPullStaging(store, raw.digest);
  try {
    const j: Job = { store, t, repo, ps, config, emit, stop: new AbortController() };
    const quiet = store.index.image(m.config.digest as Digest) !== undefined;
    const layers = await layersOf(j, m, quiet, o.maxConcurrent ?? 3);
    const reg = await registerImage(store, ps.staging, {
      what: `${formatReference(ref)}`, configBytes, layers, manifestBytes: raw.bytes, manifestMediaType: raw.mediaType,
      tags: name ? [name] : [], repoDigests: [digestName],
    });
    const familiar = formatReference(ref, { familiar: true });
    return { name: name || digestName, familiar, digest: top.digest, id: reg.id, upToDate: before === reg.id };
  } finally {
    await ps.release();
  }
}

/** Pull `refText` (tag or digest) into the store; errors read `pull REF: why`. */
export async function pull(store: Store, refText: string, o: PullOpts = {}): Promise<PullResult> {
  const parsed = normalizeReference(refText);
  // Like docker, a digest wins over a tag given with it.
  const ref: Reference = parsed.digest ? { registry: parsed.registry, repository: parsed.repository, digest: parsed.digest } : parsed;
  try {
    return await pullRef(store, ref, o);
  } catch (err) {
    throw withContext(`pull ${refText}`, err);
  }
}
