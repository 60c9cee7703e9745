import * as v from 'valibot';
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
const digest = v.custom<Digest>((x) => typeof x === 'string' && isDigest(x), 'expected a digest sha256:<64 hex digits>');
/** Any digest the OCI grammar allows (an index may name manifests lamina never reads). */
const anyDigest = v.pipe(v.string(), v.regex(/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, 'expected a digest algorithm:encoded'));
const list = <T extends v.GenericSchema>(item: T, max: number = LIMITS.listItems) => v.pipe(v.array(item), v.maxLength(max, `more than ${max} entries`));
const map = <T extends v.GenericSchema>(value: T) =>
  v.pipe(v.record(v.string(), value), v.check((o) => Object.keys(o).length <= LIMITS.listItems, `more than ${LIMITS.listItems} keys`));
const size = v.pipe(v.number(), v.safeInteger('expected a whole number of bytes'), v.minValue(0, 'expected a size, not a negative number'));
const text = v.optional(v.string());

const platformSchema = v.looseObject({ architecture: v.string(), os: v.string(), variant: text });

const descriptorFields = {
  mediaType: v.string(),
  size,
  annotations: v.optional(map(v.string())),
  platform: v.optional(platformSchema),
  urls: v.optional(list(v.string())),
};
const descriptorSchema = v.looseObject({ ...descriptorFields, digest });
/** An index entry: its digest is checked when lamina follows it. */
const indexEntrySchema = v.looseObject({ ...descriptorFields, digest: anyDigest });

const manifestSchema = v.looseObject({
  schemaVersion: v.literal(2),
  mediaType: text,
  config: descriptorSchema,
  layers: list(descriptorSchema, LIMITS.layers),
  annotations: v.optional(map(v.string())),
});

const indexSchema = v.looseObject({
  schemaVersion: v.literal(2),
  mediaType: text,
  manifests: list(indexEntrySchema, LIMITS.indexEntries),
  annotations: v.optional(map(v.string())),
});

const historySchema = v.looseObject({ created: text, created_by: text, author: text, comment: text, empty_layer: v.optional(v.boolean()) });

/** Docker's healthcheck: Test is ["NONE"], ["CMD", args...] or ["CMD-SHELL", command]; durations in nanoseconds. */
const duration = v.optional(v.pipe(v.number(), v.safeInteger()));
const healthSchema = v.looseObject({
  Test: list(v.string()), Interval: duration, Timeout: duration, StartPeriod: duration, StartInterval: duration, Retries: duration,
});

/** Docker writes null for empty lists and maps, so every one of them may be null. */
const containerConfigSchema = v.looseObject({
  User: text,
  ExposedPorts: v.nullish(map(v.looseObject({}))),
  Env: v.nullish(list(v.string())),
  Entrypoint: v.nullish(list(v.string())),
  Cmd: v.nullish(list(v.string())),
  Volumes: v.nullish(map(v.looseObject({}))),
  WorkingDir: text,
  Labels: v.nullish(map(v.string())),
  StopSignal: text,
  /** Docker's fields, set by a Dockerfile's SHELL, HEALTHCHECK and ONBUILD. */
  Shell: v.nullish(list(v.string())),
  Healthcheck: v.nullish(healthSchema),
  OnBuild: v.nullish(list(v.string())),
});

const configSchema = v.looseObject({
  created: text,
  author: text,
  architecture: v.string(),
  os: v.string(),
  variant: text,
  config: v.pipe(v.nullish(containerConfigSchema), v.transform((c) => c ?? undefined)),
  rootfs: v.looseObject({ type: v.literal('layers'), diff_ids: list(digest, LIMITS.layers) }),
  history: v.optional(list(historySchema, LIMITS.history)),
});

/** docker save's manifest.json: one item per image. */
const archiveManifestSchema = list(v.looseObject({
  Config: v.string(),
  RepoTags: v.nullish(list(v.string())),
  Layers: list(v.string(), LIMITS.layers),
}), LIMITS.indexEntries);

export type Platform = v.InferOutput<typeof platformSchema>;
export type Descriptor = v.InferOutput<typeof descriptorSchema>;
export type IndexEntry = v.InferOutput<typeof indexEntrySchema>;
export type Manifest = v.InferOutput<typeof manifestSchema>;
export type ImageIndex = v.InferOutput<typeof indexSchema>;
export type HistoryEntry = v.InferOutput<typeof historySchema>;
export type ContainerConfig = v.InferOutput<typeof containerConfigSchema>;
export type HealthConfig = v.InferOutput<typeof healthSchema>;
export type ImageConfig = v.InferOutput<typeof configSchema>;
export type ArchiveManifest = v.InferOutput<typeof archiveManifestSchema>;

/** `config.Env[3]`, `layers[0].digest`. */
function pathText(issue: v.BaseIssue<unknown>): string {
  return (issue.path ?? []).map((p, i) => (typeof p.key === 'number' ? `[${p.key}]` : `${i ? '.' : ''}${String(p.key)}`)).join('');
}

/** Type mismatches in one style (`expected string, got 7`, `missing`); our own checks say what they say. */
function describe(issue: v.BaseIssue<unknown>): string {
  if (issue.kind !== 'schema' || issue.type === 'custom') return issue.message;
  return issue.received === 'undefined' ? 'missing' : `expected ${issue.expected}, got ${issue.received}`;
}

/** Messages quote what they received: a hostile document may have put megabytes there. */
const MAX_MESSAGE = 200;

/** Check `raw` against `schema`; the first problem becomes one line: `WHAT: invalid KIND: PATH: why`. */
function validate<S extends v.GenericSchema>(schema: S, raw: unknown, kind: string, what: string): v.InferOutput<S> {
  const r = v.safeParse(schema, raw, { abortEarly: true });
  if (r.success) return r.output;
  const issue = r.issues[0];
  const at = pathText(issue);
  const msg = describe(issue).replace(/\s+/g, ' ');
  const why = at ? `${at}: ${msg}` : msg;
  throw new ImgError('INVALID_ARGUMENT', `${what}: invalid ${kind}: ${why.length > MAX_MESSAGE ? `${why.slice(0, MAX_MESSAGE)}…` : why}`);
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
