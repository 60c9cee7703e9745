import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ImgError } from '../store/errors.js';
import { ociLayerMediaType, type ImageConfig } from './oci.js';
import { formatReference, normalizeReference } from './reference.js';
import type { Store } from '../store/store.js';
import { ingestLayer } from './tar/ingest.js';
import type { Digest } from '../store/types.js';
import { hostPlatform } from './platform.js';
import { registerImage } from './register.js';

export interface ImportOpts {
  /** Where the tarball came from, for errors and the history comment. */
  source: string;
  ref?: string;
  message?: string;
}

/** docker import: a rootfs tarball becomes a one-layer image. */
export async function importTarball(store: Store, src: Readable, o: ImportOpts): Promise<{ id: Digest; tag?: string }> {
  const tag = o.ref ? formatReference(normalizeReference(o.ref)) : undefined;
  const staging = await store.staging();
  try {
    const r = await ingestLayer(staging.blobs, src, { what: `import ${o.source}` });
    const created = new Date().toISOString();
    const config: ImageConfig = {
      ...hostPlatform(),
      created,
      config: {},
      rootfs: { type: 'layers', diff_ids: [r.diffId] },
      history: [{ created, created_by: '', comment: o.message ?? `Imported from ${o.source}` }],
    };
    const { id } = await registerImage(store, staging, {
      what: `import ${o.source}`,
      configBytes: Buffer.from(JSON.stringify(config)),
      layers: [{
        diffId: r.diffId, compression: r.compression, uncompressedSize: r.uncompressedSize, entries: r.entries,
        descriptor: { mediaType: ociLayerMediaType(r.compression), digest: r.digest, size: r.size },
      }],
      tags: tag ? [tag] : [],
    });
    return { id, tag };
  } finally {
    await staging.discard();
  }
}

/** A read stream for a file argument, with a clear error when it is missing. */
export async function openInput(file: string): Promise<Readable> {
  const st = await stat(file).catch(() => undefined);
  if (!st) throw new ImgError('NOT_FOUND', `${file}: no such file`);
  if (!st.isFile()) throw new ImgError('INVALID_ARGUMENT', `${file}: not a regular file`);
  return createReadStream(file);
}
