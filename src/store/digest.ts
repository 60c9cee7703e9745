import { createHash } from 'node:crypto';
import { ImgError } from './errors.js';
import type { Digest } from './types.js';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

/** Parse a digest string or throw INVALID_ARGUMENT naming it. */
export function parseDigest(s: string, what = 'digest'): Digest {
  if (!isDigest(s)) throw new ImgError('INVALID_ARGUMENT', `invalid ${what} "${s}": want sha256:<64 hex digits>`);
  return s;
}

export function sha256Of(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The 64 hex digits of a digest. */
export const hexOf = (d: Digest): string => d.slice('sha256:'.length);

/** Docker's short form: the first 12 hex digits. */
export const shortId = (d: Digest): string => hexOf(d).slice(0, 12);
