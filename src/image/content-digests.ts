/**
 * sha256 of regular files' data, read from the stored layer tars when first needed and
 * kept in the index (entries.content_digest). Ingest does not compute them: hashing
 * every file there cost 1 s of CPU per GiB (+55% for a plain tar, +27% for gzip),
 * paid by every pull and load for a question most layers are never asked.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { ImgError } from '../store/errors.js';
import type { FileData, QueryIndex } from '../store/query-index.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';

/** Read size: neighbouring small files share one read; far-apart ones each get their own. */
const WINDOW = 1 << 20;

/** sha256 of each range of `file`, which must be sorted by offset. */
async function hashRanges(file: string, ranges: FileData[], what: string): Promise<Digest[]> {
  const fh = await open(file, 'r');
  const buf = Buffer.allocUnsafe(WINDOW);
  let start = 0;
  let len = 0;
  const out: Digest[] = [];
  try {
    for (const r of ranges) {
      const h = createHash('sha256');
      for (let pos = r.offset, end = r.offset + r.size; pos < end;) {
        if (pos < start || pos >= start + len) {
          ({ bytesRead: len } = await fh.read(buf, 0, WINDOW, pos));
          start = pos;
          if (len === 0) throw new ImgError('INTERNAL', `${what}: the tar ends before the data of ${JSON.stringify(r.path)}`);
        }
        const n = Math.min(end, start + len) - pos;
        h.update(buf.subarray(pos - start, pos - start + n));
        pos += n;
      }
      out.push(`sha256:${h.digest('hex')}`);
    }
  } finally {
    await fh.close();
  }
  return out;
}

async function hashFiles(store: Store, queries: QueryIndex, diffId: Digest, files: FileData[], complete: boolean): Promise<void> {
  const digests = await hashRanges(store.blobs.pathOf(diffId), files, `layer ${diffId}`);
  queries.putDigests(diffId, files.map((f, i) => ({ path: f.path, digest: digests[i]! })), complete);
}

/** Layers among `diffIds` whose files are not all hashed yet, and their unhashed bytes. */
export function unhashedLayers(queries: QueryIndex, diffIds: Iterable<Digest>): { layers: Digest[]; bytes: number } {
  const layers = [...new Set(diffIds)].filter((d) => !queries.layerHashed(d));
  const bytes = layers.reduce((n, d) => n + queries.unhashedFiles(d).reduce((m, f) => m + f.size, 0), 0);
  return { layers, bytes };
}

/** Hash every regular file of these layers that has no digest yet (one sequential read per layer). */
export async function hashLayers(store: Store, queries: QueryIndex, diffIds: Iterable<Digest>): Promise<void> {
  for (const d of new Set(diffIds)) {
    if (!queries.layerHashed(d)) await hashFiles(store, queries, d, queries.unhashedFiles(d), true);
  }
}

/** The map key fileDigests uses. */
export const fileKey = (diffId: Digest, path: string): string => `${diffId}\0${path}`;

/** The content digest of each file (diffId + path in that layer), hashing the ones not known yet. */
export async function fileDigests(store: Store, queries: QueryIndex, files: Array<{ diffId: Digest; path: string }>): Promise<Map<string, Digest>> {
  const out = new Map<string, Digest>();
  const missing = new Map<Digest, Map<string, FileData>>();
  for (const { diffId, path } of files) {
    const k = fileKey(diffId, path);
    if (out.has(k) || missing.get(diffId)?.has(path)) continue;
    const known = queries.digestOf(diffId, path);
    if (known) {
      out.set(k, known);
      continue;
    }
    const e = queries.entry(diffId, path);
    if (e?.type !== 'file') throw new ImgError('INTERNAL', `layer ${diffId}: ${JSON.stringify(path)} is not a regular file`);
    const byPath = missing.get(diffId) ?? missing.set(diffId, new Map()).get(diffId)!;
    byPath.set(path, { path, offset: e.offset, size: e.size });
  }
  for (const [diffId, byPath] of missing) {
    const list = [...byPath.values()].sort((a, b) => a.offset - b.offset);
    await hashFiles(store, queries, diffId, list, false);
    for (const f of list) out.set(fileKey(diffId, f.path), queries.digestOf(diffId, f.path)!);
  }
  return out;
}
