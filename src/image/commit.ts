import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { MediaType, ociLayerMediaType, type ContainerConfig, type HistoryEntry, type ImageConfig } from './oci.js';
import { formatReference, normalizeReference } from './reference.js';
import type { Store } from '../store/store.js';
import { ingestLayer } from './tar/ingest.js';
import type { Digest } from '../store/types.js';
import { applyChanges } from './config-changes.js';
import { readConfig } from './inspect.js';
import { hostPlatform } from './platform.js';
import { registerImage, type StagedLayer } from './register.js';

/** Fixed, so the same tar always gives the same compressed digest (zlib's gzip header has no time or name). */
export const GZIP_LEVEL = 6;

export interface CommitOpts {
  /** The image the layer goes on top of. */
  parent: Digest;
  /** The new layer as an uncompressed tar (an OCI changeset). */
  layer: AsyncIterable<Buffer>;
  message?: string;
  author?: string;
  /** docker commit --change instructions (CMD, ENV, ...). */
  changes?: string[];
  ref?: string;
  /** Names the operation in errors, e.g. `commit of container 0123abcd`. */
  what?: string;
}

export interface Committed {
  id: Digest;
  tag?: string;
  /** The new layer's diff_id and compressed digest. */
  diffId: Digest;
  digest: Digest;
}

/** The parent's layers as the new manifest names them: the stored blob, else the layer tar. */
function parentLayers(store: Store, parent: Digest): StagedLayer[] {
  return store.index.imageLayers(parent).map((l) => {
    const uncompressedSize = store.index.layerSize(l.diffId) ?? 0;
    const rec = store.index.blobsOfLayer(l.diffId).find((b) => b.digest === l.blobDigest);
    const compression = rec?.compression ?? 'none';
    return {
      diffId: l.diffId, compression, uncompressedSize,
      descriptor: { mediaType: ociLayerMediaType(compression), digest: rec?.digest ?? l.diffId, size: rec?.size ?? uncompressedSize },
    };
  });
}

/** History with one entry per parent layer at least, so the new entry lines up with the new layer. */
function historyOf(parent: ImageConfig): HistoryEntry[] {
  const history = [...(parent.history ?? [])];
  const missing = parent.rootfs.diff_ids.length - history.filter((h) => !h.empty_layer).length;
  for (let i = 0; i < missing; i++) history.unshift(parent.created ? { created: parent.created } : {});
  return history;
}

export interface Child {
  /** The new top layer; none for a config-only step (its history entry says empty_layer). */
  diffId?: Digest;
  config: ContainerConfig | undefined;
  /** The new history entry, without its time. */
  entry: Omit<HistoryEntry, 'created' | 'empty_layer'>;
  created: string;
  /** The child's author; the parent's is never inherited (docker). */
  author?: string;
}

/** A child image's config: the parent's, with `config`, the new layer and one more history entry. */
export function childOf(parent: ImageConfig, c: Child): ImageConfig {
  const { author: _inherited, ...rest } = parent;
  return {
    ...rest,
    ...(c.author && { author: c.author }),
    created: c.created,
    config: c.config,
    rootfs: { type: 'layers', diff_ids: c.diffId ? [...parent.rootfs.diff_ids, c.diffId] : parent.rootfs.diff_ids },
    history: [...historyOf(parent), { created: c.created, ...c.entry, ...(!c.diffId && { empty_layer: true }) }],
  };
}

/** The child's config: the parent's, plus the new layer, a history entry and the --change instructions. */
export function childConfig(parent: ImageConfig, diffId: Digest, o: Pick<CommitOpts, 'message' | 'author' | 'changes'>, created: string): ImageConfig {
  const entry: Child['entry'] = { created_by: (o.changes ?? []).join('; ') };
  if (o.author) entry.author = o.author;
  if (o.message) entry.comment = o.message;
  return childOf(parent, { diffId, config: applyChanges(parent.config, o.changes ?? []), entry, created, author: o.author });
}

/** The config FROM scratch starts from: this machine's platform, no layers, no history. */
export function scratchConfig(): ImageConfig {
  return { ...hostPlatform(), config: {}, rootfs: { type: 'layers', diff_ids: [] } };
}

export interface DeriveOpts {
  /** The image to build on; undefined for scratch (no layers). */
  parent?: Digest;
  /** A new top layer as an uncompressed tar; none for a config-only change. */
  layer?: AsyncIterable<Buffer>;
  /** Leave out a new layer that has no entries (docker's empty_layer steps). */
  dropEmptyLayer?: boolean;
  /** The child's config from the parent's and the new layer's diff_id (undefined when no layer is added). */
  config: (parent: ImageConfig, diffId: Digest | undefined) => ImageConfig;
  tags?: string[];
  /** Names the operation in errors, e.g. `commit of container 0123abcd`. */
  what: string;
}

export interface Derived {
  id: Digest;
  config: ImageConfig;
  /** The new layer's diff_id and compressed digest, when one was added. */
  layer?: { diffId: Digest; digest: Digest };
}

/**
 * A child image of `parent`, store side: gzip the layer tar (level 6), ingest it like any
 * layer (compressed and uncompressed blobs, entries indexed), write config and manifest,
 * register the image and tag it. Nothing is visible until the index transaction.
 */
export async function deriveImage(store: Store, o: DeriveOpts): Promise<Derived> {
  const parent = o.parent ? await readConfig(store, o.parent) : scratchConfig();
  const staging = await store.staging();
  try {
    let added: StagedLayer | undefined;
    if (o.layer) {
      const gz = createGzip({ level: GZIP_LEVEL });
      pipeline(Readable.from(o.layer, { objectMode: false }), gz, () => undefined); // an error ends gz, and so the ingest
      const r = await ingestLayer(staging.blobs, gz, { what: o.what });
      added = {
        diffId: r.diffId, compression: r.compression, uncompressedSize: r.uncompressedSize, entries: r.entries,
        descriptor: { mediaType: ociLayerMediaType(r.compression), digest: r.digest, size: r.size },
      };
      if (o.dropEmptyLayer && r.entries.length === 0) {
        for (const d of [r.digest, r.diffId]) await staging.blobs.delete(d); // never published
        added = undefined;
      }
    }
    const config = o.config(parent, added?.diffId);
    const { id } = await registerImage(store, staging, {
      what: o.what,
      configBytes: Buffer.from(JSON.stringify(config)),
      layers: [...(o.parent ? parentLayers(store, o.parent) : []), ...(added ? [added] : [])],
      manifestMediaType: MediaType.ociManifest,
      tags: o.tags ?? [],
    });
    return { id, config, layer: added && { diffId: added.diffId, digest: added.descriptor.digest } };
  } finally {
    await staging.discard();
  }
}

/** docker commit, store side: the container's layer on top of its image, with a history entry. */
export async function commitImage(store: Store, o: CommitOpts): Promise<Committed> {
  const tag = o.ref ? formatReference(normalizeReference(o.ref)) : undefined;
  const parent = await readConfig(store, o.parent);
  applyChanges(parent.config, o.changes ?? []); // bad --change instructions fail before any work
  const created = new Date().toISOString();
  const r = await deriveImage(store, {
    parent: o.parent, layer: o.layer, what: o.what ?? 'commit', tags: tag ? [tag] : [],
    config: (p, diffId) => childConfig(p, diffId!, o, created),
  });
  return { id: r.id, tag, diffId: r.layer!.diffId, digest: r.layer!.digest };
}
