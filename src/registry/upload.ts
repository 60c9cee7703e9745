/** Blob upload: existence check, cross-repo mount, monolithic PUT, chunked PATCH for large blobs. */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImgError } from '../store/errors.js';
import type { Digest } from '../store/types.js';
import { RegistryError } from './errors.js';
import { discardBody, header } from './http.js';
import { pullScope, pushScope } from './manifests.js';
import type { RegistryResponse, RegistryTransport } from './transport.js';

/** Blobs larger than this go up in PATCH chunks of this size. */
export const CHUNK_SIZE = 32 << 20;

export interface BlobSource {
  digest: Digest;
  size: number;
  /** A fresh stream over bytes [start, end) of the blob. */
  open(start: number, end: number): Readable;
}

export type UploadOutcome = 'exists' | 'mounted' | 'pushed';

/** HEAD the blob in `repo`. */
export async function blobExists(t: RegistryTransport, repo: string, digest: Digest): Promise<boolean> {
  try {
    const res = await t.request({ method: 'HEAD', path: `/v2/${repo}/blobs/${digest}`, scopes: [pushScope(repo)] });
    discardBody(res);
    return true;
  } catch (err) {
    if (err instanceof RegistryError && err.status === 404) return false;
    throw err;
  }
}

function locationOf(res: RegistryResponse): URL {
  const loc = header(res, 'location');
  discardBody(res);
  if (!loc) throw new ImgError('UNAVAILABLE', `${res.url.host}: upload response without a Location`);
  return new URL(loc, res.url);
}

/** Start an upload session, asking to mount from `from` when given; undefined means the mount succeeded. */
async function startUpload(t: RegistryTransport, repo: string, digest: Digest, from?: string): Promise<URL | undefined> {
  const query = from ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}` : '';
  const scopes = from ? [pushScope(repo), pullScope(from)] : [pushScope(repo)];
  const res = await t.request({
    method: 'POST', path: `/v2/${repo}/blobs/uploads/${query}`, ok: [201, 202], scopes,
    headers: { 'Content-Length': '0' },
  });
  if (res.status === 201) {
    discardBody(res);
    return undefined;
  }
  return locationOf(res);
}

const withDigest = (loc: URL, digest: Digest): URL => {
  const u = new URL(loc);
  u.searchParams.set('digest', digest);
  return u;
};

async function putWhole(t: RegistryTransport, repo: string, loc: URL, src: BlobSource): Promise<void> {
  const res = await t.request({
    method: 'PUT', path: withDigest(loc, src.digest), ok: [201, 204], retry: false, scopes: [pushScope(repo)],
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(src.size) },
    body: () => src.open(0, src.size),
  });
  discardBody(res);
}

async function patchChunks(t: RegistryTransport, repo: string, first: URL, src: BlobSource, onProgress?: (n: number) => void): Promise<void> {
  let loc = first;
  for (let start = 0; start < src.size; start += CHUNK_SIZE) {
    const end = Math.min(start + CHUNK_SIZE, src.size);
    const res = await t.request({
      method: 'PATCH', path: loc, ok: [202, 204], retry: false, scopes: [pushScope(repo)],
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(end - start), 'Content-Range': `${start}-${end - 1}` },
      body: () => src.open(start, end),
    });
    loc = locationOf(res);
    onProgress?.(end);
  }
  const res = await t.request({
    method: 'PUT', path: withDigest(loc, src.digest), ok: [201, 204], retry: false, scopes: [pushScope(repo)],
    headers: { 'Content-Length': '0' },
  });
  discardBody(res);
}

async function uploadOnce(t: RegistryTransport, repo: string, src: BlobSource, from: string | undefined, onProgress?: (n: number) => void): Promise<UploadOutcome> {
  const loc = await startUpload(t, repo, src.digest, from);
  if (!loc) return 'mounted';
  if (src.size > CHUNK_SIZE) await patchChunks(t, repo, loc, src, onProgress);
  else await putWhole(t, repo, loc, src);
  onProgress?.(src.size);
  return 'pushed';
}

/**
 * Make `src` present in `repo`: already there, mounted from one of `mountFrom`,
 * or uploaded. A failed upload session is restarted from scratch (bounded).
 */
export async function pushBlob(
  t: RegistryTransport, repo: string, src: BlobSource, mountFrom: string[], onProgress?: (n: number) => void,
): Promise<UploadOutcome> {
  if (await blobExists(t, repo, src.digest)) return 'exists';
  for (let attempt = 1; ; attempt++) {
    try {
      return await uploadOnce(t, repo, src, mountFrom[0], onProgress);
    } catch (err) {
      const temporary = (err instanceof RegistryError && err.temporary) || (err instanceof ImgError && err.code === 'UNAVAILABLE');
      if (!temporary || attempt >= t.retry.attempts) throw err;
      await sleep(t.delay(attempt));
    }
  }
}
