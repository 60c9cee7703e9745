/** Manifest fetch (content negotiation, digest check) and manifest push. */
import { sha256Of } from '../store/digest.js';
import { ImgError } from '../store/errors.js';
import { MediaType } from '../image/oci.js';
import type { Digest } from '../store/types.js';
import { networkError } from './errors.js';
import { header, readBody } from './http.js';
import type { RegistryTransport } from './transport.js';

/** Every manifest type lamina understands; without the schema 2 types old registries fall back to schema 1. */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest];

/** The spec asks registries to accept at least 4 MB; refuse anything larger when reading. */
const MANIFEST_LIMIT = 4 << 20;

export interface RawManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

export const pullScope = (repo: string) => `repository:${repo}:pull`;
export const pushScope = (repo: string) => `repository:${repo}:pull,push`;

/** The mediaType field wins over a generic Content-Type; a mismatch between two specific ones is an error. */
function mediaTypeOf(bytes: Buffer, contentType: string | undefined, what: string): string {
  let field: string | undefined;
  try {
    field = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType;
  } catch {
    throw new ImgError('INVALID_ARGUMENT', `${what}: manifest is not JSON`);
  }
  const header = contentType?.split(';')[0]?.trim();
  const specific = header && MANIFEST_ACCEPT.includes(header as (typeof MANIFEST_ACCEPT)[number]) ? header : undefined;
  if (field && specific && field !== specific) {
    throw new ImgError('INVALID_ARGUMENT', `${what}: Content-Type ${specific} but manifest says ${field}`);
  }
  const mt = field ?? specific;
  if (!mt || !MANIFEST_ACCEPT.includes(mt as (typeof MANIFEST_ACCEPT)[number])) {
    throw new ImgError('INVALID_ARGUMENT', `${what}: unsupported manifest media type "${mt ?? header ?? 'none'}"`, {
      hint: 'lamina reads OCI and Docker schema 2 manifests (not schema 1)',
    });
  }
  return mt;
}

/** GET a manifest by tag or digest; a digest reference is verified against the bytes. */
export async function fetchManifest(t: RegistryTransport, repo: string, reference: string): Promise<RawManifest> {
  const res = await t.request({
    method: 'GET', path: `/v2/${repo}/manifests/${reference}`, read: true,
    headers: { Accept: MANIFEST_ACCEPT.join(', ') }, scopes: [pullScope(repo)],
  });
  const bytes = await readBody(res, MANIFEST_LIMIT).catch((err: unknown) => { throw networkError(err, t.registry); });
  const digest = sha256Of(bytes);
  const what = `${repo}:${reference}`;
  if (reference.startsWith('sha256:') && digest !== reference) {
    throw new ImgError('DIGEST_MISMATCH', `${what}: manifest digest mismatch: got ${digest}`);
  }
  return { bytes, digest, mediaType: mediaTypeOf(bytes, header(res, 'content-type'), what) };
}

/** PUT manifest bytes exactly as given under `reference` (a tag or digest); returns their digest. */
export async function putManifest(t: RegistryTransport, repo: string, reference: string, m: Omit<RawManifest, 'digest'>): Promise<Digest> {
  const digest = sha256Of(m.bytes);
  const res = await t.request({
    method: 'PUT', path: `/v2/${repo}/manifests/${reference}`, body: m.bytes, ok: [200, 201],
    headers: { 'Content-Type': m.mediaType, 'Content-Length': String(m.bytes.length) }, scopes: [pushScope(repo)],
  });
  await readBody(res, 64 << 10).catch(() => undefined);
  const said = header(res, 'docker-content-digest');
  if (said && said !== digest) throw new ImgError('DIGEST_MISMATCH', `${repo}:${reference}: registry stored manifest as ${said}, expected ${digest}`);
  return digest;
}
