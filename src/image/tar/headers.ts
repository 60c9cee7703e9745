/** Pure tar header codec: raw 512-byte headers, PAX records, GNU long names. */
import { createRequire } from 'node:module';
import path from 'node:path';
import { ImgError } from '../../store/errors.js';
import { decodeFsName } from '../../store/fs-name.js';
import type { EntryType } from '../../store/types.js';

/** Fields of one ustar/GNU/v7 header block as written (ustar prefix already joined). */
export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname: string | null;
  devmajor: number;
  devminor: number;
}

interface Codec {
  decode(buf: Buffer, encoding?: string, allowUnknownFormat?: boolean): RawHeader | null;
  decodeLongPath(buf: Buffer, encoding?: string): string;
}

// tar-stream v3 keeps its pure codec out of the package "exports"; load the file
// by path. Its decodePax is not used: it decodes values as strings, which breaks
// binary xattrs and counts lengths in characters.
const requireCjs = createRequire(import.meta.url);
const codec = requireCjs(path.join(path.dirname(requireCjs.resolve('tar-stream')), 'headers.js')) as Codec;

export const BLOCK = 512;

/** Records of one PAX extended header; values are raw bytes. */
export type PaxRecords = Map<string, Buffer>;

/** What a header's typeflag asks for: an entry, or metadata for the next entry. */
export type HeaderKind = EntryType | 'pax' | 'pax-global' | 'long-name' | 'long-link';

const KINDS: Record<string, HeaderKind> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'char', '4': 'block',
  '5': 'dir', '6': 'fifo', x: 'pax', g: 'pax-global', L: 'long-name', K: 'long-link',
};

const UNSUPPORTED: Record<string, string> = {
  S: 'GNU sparse file', D: 'GNU dumpdir', M: 'GNU multi-volume continuation',
  V: 'GNU volume label', N: 'obsolete GNU long names',
};

/** Decode one header block; undefined for an all-zero (end-of-archive) block. */
export function decodeHeader(block: Buffer): RawHeader | undefined {
  let h: RawHeader | null;
  try {
    h = codec.decode(block, 'latin1', true); // names are bytes: decoded below, losslessly
  } catch {
    throw new ImgError('INVALID_ARGUMENT', 'bad tar header checksum');
  }
  if (!h) return undefined;
  h.name = latin1ToName(h.name);
  if (h.linkname !== null) h.linkname = latin1ToName(h.linkname);
  for (const f of ['mode', 'uid', 'gid', 'size', 'devmajor', 'devminor'] as const) {
    if (!Number.isSafeInteger(h[f]) || h[f] < 0) throw new ImgError('INVALID_ARGUMENT', `bad tar header: invalid ${f} field`);
  }
  return h;
}

/** The kind named by a header's typeflag byte, or undefined when we do not support it. */
export function kindOf(block: Buffer): HeaderKind | undefined {
  const flag = String.fromCharCode(block[156]!);
  // A v7 regular file whose name ends in '/' is a directory (as Go's archive/tar reads it).
  if (flag === '\0' && nameEndsWithSlash(block)) return 'dir';
  return KINDS[flag];
}

function nameEndsWithSlash(block: Buffer): boolean {
  const nul = block.subarray(0, 100).indexOf(0);
  const end = nul < 0 ? 100 : nul;
  return end > 0 && block[end - 1] === 0x2f;
}

/** `'S' (GNU sparse file)` — how errors name a typeflag. */
export function describeFlag(block: Buffer): string {
  const c = block[156]!;
  const shown = c >= 0x21 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `0x${c.toString(16).padStart(2, '0')}`;
  const known = UNSUPPORTED[String.fromCharCode(c)];
  return known ? `${shown} (${known})` : shown;
}

/** The path of a GNU 'L'/'K' long-name body (NUL-terminated). */
export const decodeLongName = (body: Buffer): string => latin1ToName(codec.decodeLongPath(body, 'latin1'));

const latin1ToName = (s: string): string => decodeFsName(Buffer.from(s, 'latin1'));

/** Parse `LEN KEY=VALUE\n` records; LEN counts bytes, so binary values survive. */
export function decodePax(body: Buffer): PaxRecords {
  const out: PaxRecords = new Map();
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const len = recordLength(body, i);
    const eq = body.indexOf(0x3d, i);
    if (eq < 0 || eq >= i + len - 1) throw badPax();
    const keyStart = body.indexOf(0x20, i) + 1;
    out.set(body.toString('utf8', keyStart, eq), Buffer.from(body.subarray(eq + 1, i + len - 1)));
    i += len;
  }
  return out;
}

function recordLength(body: Buffer, i: number): number {
  const sp = body.indexOf(0x20, i);
  const digits = sp > i ? body.toString('latin1', i, sp) : '';
  const len = /^[0-9]{1,9}$/.test(digits) ? Number(digits) : NaN;
  if (!(len > sp - i + 1) || i + len > body.length || body[i + len - 1] !== 0x0a) throw badPax();
  return len;
}

const badPax = (): ImgError => new ImgError('INVALID_ARGUMENT', 'malformed PAX extended header record');

/** A PAX value as text; undefined when absent or empty (an empty value unsets the keyword). */
export function paxText(pax: PaxRecords | undefined, key: string): string | undefined {
  const v = pax?.get(key);
  return v && v.length > 0 ? v.toString('utf8') : undefined;
}

/** A PAX path or linkpath: bytes (usually UTF-8; hdrcharset=BINARY allows any), decoded losslessly. */
export function paxName(pax: PaxRecords | undefined, key: 'path' | 'linkpath'): string | undefined {
  const v = pax?.get(key);
  return v && v.length > 0 ? decodeFsName(v) : undefined;
}

/** A non-negative decimal PAX value (size, uid, gid). */
export function paxInt(pax: PaxRecords | undefined, key: string): number | undefined {
  const s = paxText(pax, key);
  if (s === undefined) return undefined;
  const n = /^[0-9]+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw new ImgError('INVALID_ARGUMENT', `bad PAX ${key} "${s}"`);
  return n;
}

/** PAX `mtime` (`SEC[.FRACTION]`, possibly negative) as seconds and nanoseconds. */
export function paxTime(s: string): { sec: number; nsec: number } {
  const m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(s);
  if (!m) throw new ImgError('INVALID_ARGUMENT', `bad PAX mtime "${s}"`);
  const whole = Number(m[2]);
  const nsec = Number((m[3] ?? '').slice(0, 9).padEnd(9, '0'));
  if (!m[1]) return { sec: whole, nsec };
  return nsec === 0 ? { sec: -whole, nsec: 0 } : { sec: -whole - 1, nsec: 1e9 - nsec };
}

/** Bytes a body of `size` occupies, padded to whole blocks. */
export const padded = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;
