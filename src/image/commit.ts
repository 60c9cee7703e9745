import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { MediaType, ociLayerMediaType, type HistoryEntry, type ImageConfig } from './oci.js';
import { formatReference, normalizeReference } from './reference.js';
import type { Store } from '../store/store.js';
import { ingestLayer } from './tar/ingest.js';
import type { Digest } from '../store/types.js';
import { applyChanges } from './config-changes.js';
import { readConfig } from './inspect.js';
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

/** The child's config: the parent's, plus the new layer, a history entry and the --change instructions. */
export function childConfig(parent: ImageConfig, diffId: Digest, o: Pick<CommitOpts, 'message' | 'author' | 'changes'>, created: string): ImageConfig {
  const { author: _inherited, ...rest } = parent;
  const entry: HistoryEntry = { created, created_by: (o.changes ?? []).join('; ') };
  if (o.author) entry.author = o.author;
  if (o.message) entry.comment = o.message;
  return {
    ...rest,
    ...(o.author && { author: o.author }),
    created,
    config: applyChanges(parent.config, o.changes ?? []),
    rootfs: { type: 'layers', diff_ids: [...parent.rootfs.diff_ids, diffId] },
    history: [...historyOf(parent), entry],
  };
}

/**
 * docker commit, store side: gzip the layer tar (level 6), ingest it like any layer
 * (compressed and uncompressed blobs, entries indexed), write config and manifest,
 * register the image and tag it. Nothing is visible until the index transaction.
 */
export async function commitImage(store: Store, o: CommitOpts): Promise<Committed> {
  const what = o.what ?? 'commit';
  const tag = o.ref ? formatReference(normalizeReference(o.ref)) : undefined;
  const parent = await readConfig(store, o.parent);
  applyChanges(parent.config, o.changes ?? []); // bad --change instructions fail before any work
  const staging = await store.staging();
  try {
    const gz = createGzip({ level: GZIP_LEVEL });
    pipeline(Readable.from(o.layer, { objectMode: false }), gz, () => undefined); // an error ends gz, and so the ingest
    const r = await ingestLayer(staging.blobs, gz, { what });
    const config = childConfig(parent, r.diffId, o, new Date().toISOString());
    const { id } = await registerImage(store, staging, {
      what,
      configBytes: Buffer.from(JSON.stringify(config)),
      layers: [...parentLayers(store, o.parent), {
        diffId: r.diffId, compression: r.compression, uncompressedSize: r.uncompressedSize, entries: r.entries,
        descriptor: { mediaType: ociLayerMediaType(r.compression), digest: r.digest, size: r.size },
      }],
      manifestMediaType: MediaType.ociManifest,
      tags: tag ? [tag] : [],
    });
    return { id, tag, diffId: r.diffId, digest: r.digest };
  } finally {
    await staging.discard();
  }
}
