import { z } from 'zod';
import { isDigest } from '../store/digest.js';
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

/**
 * Limits on what an image may declare. Far above real images (docker refuses to run more
 * than 125 layers), low enough that a hostile manifest or config cannot make lamina do
 * unbounded work, and no array is ever large enough to overflow a spread or the stack.
 */
export const LIMITS = {
  layers: 1000,
  indexEntries: 1000,
  history: 10_000,
  /** Env, Cmd, Entrypoint entries; Labels, Volumes, ExposedPorts, annotations keys. */
  listItems: 10_000,
  /** Nesting of arrays and objects in any JSON document lamina parses. */
  jsonDepth: 128,
} as const;

/** A sha256 digest, the only kind the store names blobs by. */
const digest = z.custom<Digest>((v) => typeof v === 'string' && isDigest(v), 'expected a digest sha256:<64 hex digits>');
/** Any digest the OCI grammar allows (an index may name manifests lamina never reads). */
const anyDigest = z.string().regex(/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, 'expected a digest algorithm:encoded');
const list = <T extends z.ZodType>(item: T, max: number = LIMITS.listItems) => z.array(item).max(max, `more than ${max} entries`);
const map = <T extends z.ZodType>(value: T) => z.record(z.string(), value).refine((o) => Object.keys(o).length <= LIMITS.listItems, `more than ${LIMITS.listItems} keys`);
const size = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const platformSchema = z.looseObject({ architecture: z.string(), os: z.string(), variant: z.string().optional() });

const descriptorFields = {
  mediaType: z.string(),
  size,
  annotations: map(z.string()).optional(),
  platform: platformSchema.optional(),
  urls: list(z.string()).optional(),
};
const descriptorSchema = z.looseObject({ ...descriptorFields, digest });
/** An index entry: its digest is checked when lamina follows it. */
const indexEntrySchema = z.looseObject({ ...descriptorFields, digest: anyDigest });

const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: list(descriptorSchema, LIMITS.layers),
  annotations: map(z.string()).optional(),
});

const indexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: list(indexEntrySchema, LIMITS.indexEntries),
  annotations: map(z.string()).optional(),
});

const historySchema = z.looseObject({
  created: z.string().optional(),
  created_by: z.string().optional(),
  author: z.string().optional(),
  comment: z.string().optional(),
  empty_layer: z.boolean().optional(),
});

/** Docker writes null for empty lists and maps, so every one of them may be null. */
const containerConfigSchema = z.looseObject({
  User: z.string().optional(),
  ExposedPorts: map(z.looseObject({})).nullish(),
  Env: list(z.string()).nullish(),
  Entrypoint: list(z.string()).nullish(),
  Cmd: list(z.string()).nullish(),
  Volumes: map(z.looseObject({})).nullish(),
  WorkingDir: z.string().optional(),
  Labels: map(z.string()).nullish(),
  StopSignal: z.string().optional(),
});

const configSchema = z.looseObject({
  created: z.string().optional(),
  author: z.string().optional(),
  architecture: z.string(),
  os: z.string(),
  variant: z.string().optional(),
  config: containerConfigSchema.nullish().transform((c) => c ?? undefined),
  rootfs: z.looseObject({ type: z.literal('layers'), diff_ids: list(digest, LIMITS.layers) }),
  history: list(historySchema, LIMITS.history).optional(),
});

/** docker save's manifest.json: one item per image. */
const archiveManifestSchema = list(z.looseObject({
  Config: z.string(),
  RepoTags: list(z.string()).nullish(),
  Layers: list(z.string(), LIMITS.layers),
}), LIMITS.indexEntries);

export type Platform = z.infer<typeof platformSchema>;
export type Descriptor = z.infer<typeof descriptorSchema>;
export type IndexEntry = z.infer<typeof indexEntrySchema>;
export type Manifest = z.infer<typeof manifestSchema>;
export type ImageIndex = z.infer<typeof indexSchema>;
export type HistoryEntry = z.infer<typeof historySchema>;
export type ContainerConfig = z.infer<typeof containerConfigSchema>;
export type ImageConfig = z.infer<typeof configSchema>;
export type ArchiveManifest = z.infer<typeof archiveManifestSchema>;

/** `config.Env[3]`, `layers[0].digest`. */
function pathText(p: readonly PropertyKey[]): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`)).join('');
}

/** Check `raw` against `schema`; the first problem becomes one line: `WHAT: invalid KIND: PATH: why`. */
function validate<T>(schema: z.ZodType<T>, raw: unknown, kind: string, what: string): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const at = pathText(issue.path);
  const msg = `${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}`;
  const why = raw === null || typeof raw !== 'object' || Array.isArray(raw) ? 'not a JSON object' : `${at ? `${at}: ` : ''}${msg}`;
  throw new ImgError('INVALID_ARGUMENT', `${what}: invalid ${kind}: ${why}`);
}

/** An image config as lamina relies on it; unknown fields are kept (the spec says they must not fail). */
export const validateConfig = (raw: unknown, what: string): ImageConfig => validate(configSchema, raw, 'image config', what);

/** An image manifest (OCI or Docker schema 2). */
export const validateManifest = (raw: unknown, what: string): Manifest => validate(manifestSchema, raw, 'manifest', what);

/** An image index or Docker manifest list. */
export const validateIndex = (raw: unknown, what: string): ImageIndex => validate(indexSchema, raw, 'image index', what);

/** docker save's manifest.json. */
export const validateArchiveManifest = (raw: unknown, what: string): ArchiveManifest => validate(archiveManifestSchema, raw, 'archive manifest', what);

/** Nesting depth of JSON text, found without recursion (strings skipped); stops counting past `limit`. */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length && max <= limit; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // skip a string, honouring backslash escapes
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Parse JSON or throw INVALID_ARGUMENT naming `what`; documents nested deeper than LIMITS.jsonDepth are refused. */
export function parseJson(text: string | Buffer, what: string): unknown {
  const s = text.toString();
  if (jsonDepth(s, LIMITS.jsonDepth) > LIMITS.jsonDepth) {
    throw new ImgError('INVALID_ARGUMENT', `${what}: invalid JSON: nested more than ${LIMITS.jsonDepth} levels deep`);
  }
  try {
    return JSON.parse(s);
  } catch (err) {
    throw new ImgError('INVALID_ARGUMENT', `${what}: invalid JSON: ${(err as Error).message}`);
  }
}
