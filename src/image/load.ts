import type { Readable } from 'node:stream';
import { openArchive, type ArchiveReader } from './archive.js';
import { ImgError, withContext } from '../store/errors.js';
import { isDigest, parseDigest, hexOf } from '../store/digest.js';
import { dockerLayerMediaType, layerCompression, MediaType, parseJson, validateArchiveManifest, validateIndex, validateManifest, type ArchiveManifest, type IndexEntry } from './oci.js';
import { formatReference, normalizeReference } from './reference.js';
import type { Staging, Store } from '../store/store.js';
import type { IngestResult } from './tar/ingest.js';
import { registerImage, type StagedLayer } from './register.js';
import { hostPlatform, pickPlatform } from './platform.js';
import type { Digest } from '../store/types.js';

export interface LoadedImage {
  id: Digest;
  tags: string[];
}

const TAG_ANNOTATIONS = ['io.containerd.image.name', 'org.opencontainers.image.ref.name'];

function staged(r: IngestResult, mediaType: string): StagedLayer {
  return {
    diffId: r.diffId,
    descriptor: { mediaType, digest: r.digest, size: r.size },
    compression: r.compression,
    uncompressedSize: r.uncompressedSize,
    entries: r.entries,
  };
}

/** Full tag names from docker's familiar `RepoTags`. */
function normalizeTags(tags: string[] | null | undefined): string[] {
  return (tags ?? []).map((t) => formatReference(normalizeReference(t)));
}

async function planDockerArchive(a: ArchiveReader, items: ArchiveManifest) {
  if (items.length === 0) throw new ImgError('INVALID_ARGUMENT', `${a.name}: manifest.json lists no images`);
  const plans = [];
  for (const item of items) {
    const configBytes = await a.bytes(item.Config, configDigestFromName(item.Config));
    const layers: StagedLayer[] = [];
    for (const l of item.Layers) {
      const r = await a.layer(l, blobDigestFromName(l));
      layers.push(staged(r, dockerLayerMediaType(r.compression)));
    }
    plans.push({ configBytes, layers, tags: normalizeTags(item.RepoTags), manifestMediaType: MediaType.dockerManifest, manifestBytes: undefined as Buffer | undefined });
  }
  return plans;
}

/** `blobs/sha256/<hex>` names its own digest. */
function blobDigestFromName(member: string): Digest | undefined {
  const m = /(?:^|\/)blobs\/sha256\/([a-f0-9]{64})$/.exec(member);
  return m ? (`sha256:${m[1]}` as Digest) : undefined;
}

/** Docker's `<hex>.json` config names are the config digest. */
function configDigestFromName(member: string): Digest | undefined {
  const m = /^([a-f0-9]{64})\.json$/.exec(member);
  return m ? (`sha256:${m[1]}` as Digest) : blobDigestFromName(member);
}

const blobPath = (d: string) => `blobs/sha256/${hexOf(parseDigest(d, 'descriptor digest'))}`;

async function manifestOf(a: ArchiveReader, desc: IndexEntry, depth = 0): Promise<{ desc: IndexEntry; bytes: Buffer }> {
  const bytes = await a.bytes(blobPath(desc.digest), desc.digest as Digest); // blobPath checked it
  const mt = desc.mediaType;
  if (mt === MediaType.ociIndex || mt === MediaType.dockerManifestList) {
    if (depth > 2) throw new ImgError('INVALID_ARGUMENT', `${a.name}: image index nested too deeply`);
    const idx = validateIndex(parseJson(bytes, `${a.name}: index ${desc.digest}`), `${a.name}: index ${desc.digest}`);
    return manifestOf(a, pickPlatform(idx.manifests, hostPlatform(), `${a.name}: index ${desc.digest}`), depth + 1);
  }
  if (mt !== MediaType.ociManifest && mt !== MediaType.dockerManifest) {
    throw new ImgError('INVALID_ARGUMENT', `${a.name}: unsupported manifest media type "${mt}"`);
  }
  return { desc, bytes };
}

function ociTags(desc: IndexEntry): string[] {
  for (const key of TAG_ANNOTATIONS) {
    const name = desc.annotations?.[key];
    // A bare tag ("latest") names no repository: such images load untagged, as with docker.
    if (name && /[/:]/.test(name) && !isDigest(name)) return [formatReference(normalizeReference(name))];
  }
  return [];
}

async function planOciLayout(a: ArchiveReader, index: unknown) {
  const plans = [];
  for (const top of validateIndex(index, `${a.name}: index.json`).manifests) {
    const { desc, bytes } = await manifestOf(a, top);
    const m = validateManifest(parseJson(bytes, `${a.name}: manifest ${desc.digest}`), `${a.name}: manifest ${desc.digest}`);
    const configBytes = await a.bytes(blobPath(m.config.digest), m.config.digest);
    const layers: StagedLayer[] = [];
    for (const l of m.layers) {
      layerCompression(l.mediaType, `${a.name}: layer ${l.digest}`);
      const r = await a.layer(blobPath(l.digest), l.digest);
      layers.push(staged(r, l.mediaType));
    }
    plans.push({ configBytes, layers, tags: ociTags(top), manifestMediaType: desc.mediaType, manifestBytes: bytes });
  }
  return plans;
}

async function planArchive(a: ArchiveReader) {
  const dockerManifest = await a.json('manifest.json');
  if (dockerManifest !== undefined) return planDockerArchive(a, validateArchiveManifest(dockerManifest, `${a.name}: manifest.json`));
  const index = await a.json('index.json');
  if (index !== undefined) return planOciLayout(a, index);
  throw new ImgError('INVALID_ARGUMENT', `${a.name}: not an image archive (no manifest.json or index.json)`);
}

/** Load every image of a docker-archive or OCI layout (tar, directory or stream). */
export async function load(store: Store, src: string | Readable): Promise<LoadedImage[]> {
  const staging: Staging = await store.staging();
  try {
    const archive = await openArchive(src, staging.blobs);
    const plans = await planArchive(archive);
    await archive.discardUnused();
    const loaded: LoadedImage[] = [];
    for (const p of plans) {
      const { id } = await registerImage(store, staging, { what: archive.name, ...p });
      loaded.push({ id, tags: p.tags });
    }
    return loaded;
  } catch (err) {
    throw err instanceof ImgError ? err : withContext(`load ${typeof src === 'string' ? src : 'stdin'}`, err);
  } finally {
    await staging.discard();
  }
}
