import { ImgError } from '../store/errors.js';
import type { Compression, Digest } from '../store/types.js';

/** Media types lamina reads and writes (OCI and Docker names). */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

const LAYER_COMPRESSION: Record<string, Compression> = {
  [MediaType.ociLayer]: 'none',
  [MediaType.ociLayerGzip]: 'gzip',
  [MediaType.ociLayerZstd]: 'zstd',
  [MediaType.dockerLayer]: 'none',
  [MediaType.dockerLayerGzip]: 'gzip',
  // Docker's own layer type, used by some tools for uncompressed layers too: ingest detects by magic.
  'application/vnd.docker.image.rootfs.diff.tar.zstd': 'zstd',
};

/** The compression a layer media type declares, or an error naming it. */
export function layerCompression(mediaType: string, what: string): Compression {
  const c = LAYER_COMPRESSION[mediaType];
  if (!c) throw new ImgError('INVALID_ARGUMENT', `${what}: unsupported layer media type "${mediaType}"`);
  return c;
}

/** The OCI layer media type for a compression. */
export function ociLayerMediaType(c: Compression): string {
  return c === 'gzip' ? MediaType.ociLayerGzip : c === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
}

/** The Docker schema 2 layer media type for a compression (zstd has only an OCI name). */
export function dockerLayerMediaType(c: Compression): string {
  return c === 'gzip' ? MediaType.dockerLayerGzip : c === 'zstd' ? MediaType.ociLayerZstd : MediaType.dockerLayer;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** Docker's fields, set by a Dockerfile's SHELL, HEALTHCHECK and ONBUILD. */
  Shell?: string[];
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
}

/** Docker's healthcheck: Test is ["NONE"], ["CMD", args...] or ["CMD-SHELL", command]; durations in nanoseconds. */
export interface HealthConfig {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
}

/** Check the parts of a config lamina relies on; the message names `what`. */
export function validateConfig(raw: unknown, what: string): ImageConfig {
  const c = raw as Partial<ImageConfig> | null;
  const bad = (why: string) => new ImgError('INVALID_ARGUMENT', `${what}: invalid image config: ${why}`);
  if (!c || typeof c !== 'object') throw bad('not a JSON object');
  if (!c.rootfs || c.rootfs.type !== 'layers' || !Array.isArray(c.rootfs.diff_ids)) throw bad('missing rootfs.diff_ids');
  if (typeof c.architecture !== 'string' || typeof c.os !== 'string') throw bad('missing architecture or os');
  return c as ImageConfig;
}

/** Check a manifest's shape; the message names `what`. */
export function validateManifest(raw: unknown, what: string): Manifest {
  const m = raw as Partial<Manifest> | null;
  const bad = (why: string) => new ImgError('INVALID_ARGUMENT', `${what}: invalid manifest: ${why}`);
  if (!m || typeof m !== 'object') throw bad('not a JSON object');
  if (m.schemaVersion !== 2) throw bad(`unsupported schemaVersion ${String(m.schemaVersion)}`);
  if (!m.config || typeof m.config.digest !== 'string') throw bad('missing config descriptor');
  if (!Array.isArray(m.layers)) throw bad('missing layers');
  return m as Manifest;
}

/** Parse JSON or throw INVALID_ARGUMENT naming `what`. */
export function parseJson(text: string | Buffer, what: string): unknown {
  try {
    return JSON.parse(text.toString());
  } catch (err) {
    throw new ImgError('INVALID_ARGUMENT', `${what}: invalid JSON: ${(err as Error).message}`);
  }
}
