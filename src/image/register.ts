import { ImgError } from '../store/errors.js';
import { sha256Of } from '../store/digest.js';
import type { NewLayer } from '../store/index-db.js';
import { MediaType, parseJson, validateConfig, type Descriptor, type ImageConfig, type Manifest } from './oci.js';
import type { Staging, Store } from '../store/store.js';
import type { Compression, Digest, LayerEntry } from '../store/types.js';

/** A layer ready to be recorded: ingested now (with entries) or already in the index. */
export interface StagedLayer {
  diffId: Digest;
  /** Compressed (as received) digest, size and media type: what the manifest names. */
  descriptor: Descriptor;
  compression: Compression;
  uncompressedSize: number;
  /** Present when ingested by this operation; absent when the index already has the layer. */
  entries?: LayerEntry[];
}

export interface RegisterOpts {
  what: string;
  configBytes: Buffer;
  layers: StagedLayer[];
  /** Raw manifest as received; one is written (OCI) when absent. */
  manifestBytes?: Buffer;
  manifestMediaType?: string;
  tags?: string[];
  repoDigests?: string[];
}

export interface Registered {
  id: Digest;
  config: ImageConfig;
  manifestDigest: Digest;
}

/** A manifest for layers that arrived without one (docker-archive, import, commit). */
export function makeManifest(configDigest: Digest, configSize: number, layers: Descriptor[], mediaType: string = MediaType.ociManifest): Manifest {
  const configType = mediaType === MediaType.dockerManifest ? MediaType.dockerConfig : MediaType.ociConfig;
  return {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: configType, digest: configDigest, size: configSize },
    layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
  };
}

/** The config's diff_ids must be exactly the layers we have, in order. */
function checkDiffIds(config: ImageConfig, layers: StagedLayer[], what: string): void {
  const want = config.rootfs.diff_ids;
  if (want.length !== layers.length) {
    throw new ImgError('INVALID_ARGUMENT', `${what}: config lists ${want.length} layers, manifest has ${layers.length}`);
  }
  layers.forEach((l, i) => {
    if (want[i] !== l.diffId) {
      throw new ImgError('DIGEST_MISMATCH', `${what}: layer ${i + 1} has diff_id ${l.diffId}, config says ${want[i]}`);
    }
  });
}

/**
 * Store config and manifest in `staging`, publish every staged blob, then
 * record image, new layers and tags in one transaction.
 */
export async function registerImage(store: Store, staging: Staging, o: RegisterOpts): Promise<Registered> {
  const config = validateConfig(parseJson(o.configBytes, `${o.what}: config`), o.what);
  checkDiffIds(config, o.layers, o.what);
  const { digest: id } = await staging.blobs.put(o.configBytes);
  const manifestBytes = o.manifestBytes ?? Buffer.from(JSON.stringify(makeManifest(id, o.configBytes.length, o.layers.map((l) => l.descriptor), o.manifestMediaType)));
  const manifestDigest = sha256Of(manifestBytes);
  await staging.blobs.put(manifestBytes);
  const newLayers: NewLayer[] = o.layers.map((l) => ({
    diffId: l.diffId,
    size: l.uncompressedSize,
    entries: l.entries ?? [],
    blob: { digest: l.descriptor.digest, diffId: l.diffId, size: l.descriptor.size, mediaType: l.descriptor.mediaType, compression: l.compression },
  }));
  await staging.publish();
  store.index.putImage({
    image: {
      id, manifestDigest, manifestMediaType: o.manifestMediaType ?? MediaType.ociManifest,
      created: config.created, architecture: config.architecture, os: config.os,
      size: o.layers.reduce((n, l) => n + l.uncompressedSize, 0), addedAt: Date.now(),
    },
    layers: o.layers.map((l, position) => ({ position, diffId: l.diffId, blobDigest: l.descriptor.digest })),
    newLayers,
    tags: o.tags ?? [],
    repoDigests: o.repoDigests,
  });
  return { id, config, manifestDigest };
}
