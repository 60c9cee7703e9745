/**
 * Deterministic tar headers for the layers and archives we write: one ustar block per
 * entry, preceded by a PAX header when a field does not fit (long or non-ASCII names,
 * nanosecond mtimes, xattrs, large ids). No uname/gname, atime or ctime.
 *
 * Written by hand rather than with tar-stream's pack: its PAX encoder takes string values
 * (binary xattrs such as security.capability would be mangled), and its ustar encoder
 * silently writes 7777777 for ids over 2^21 and truncates mtimes to 32 bits.
 */
import { encodeFsName } from '../../store/fs-name.js';
import type { EntryType, LayerEntry } from '../../store/types.js';

export const BLOCK = 512;

/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

/** One entry as written: a layer entry's metadata under its member name. */
export type TarHeader = Omit<LayerEntry, 'path' | 'whiteout' | 'opaque' | 'offset'> & {
  /** Member name: relative, no leading `./`; a directory's ends with `/`. */
  name: string;
};

const FLAGS: Record<EntryType | 'pax', number> = {
  file: 0x30, link: 0x31, symlink: 0x32, char: 0x33, block: 0x34, dir: 0x35, fifo: 0x36, pax: 0x78,
};
const MAX7 = 0o7777777;
const MAX11 = 0o77777777777;

const isAscii = (s: string): boolean => /^[\x01-\x7f]*$/.test(s);

/** Zero bytes that pad `size` data bytes to a whole block. */
export function padding(size: number): Buffer {
  const n = (BLOCK - (size % BLOCK)) % BLOCK;
  return n === 0 ? EMPTY : Buffer.alloc(n);
}
const EMPTY = Buffer.alloc(0);

/** `octal` digits then NUL, right-aligned in a field of `width` bytes. */
function octal(buf: Buffer, at: number, width: number, value: number): void {
  buf.write(value.toString(8).padStart(width - 1, '0'), at, width - 1, 'ascii');
}

/** Sizes over 8 GiB: GNU base-256 (high bit set), which Go, GNU tar and tar-stream read. */
function base256(buf: Buffer, at: number, width: number, value: number): void {
  let v = BigInt(value);
  for (let i = at + width - 1; i > at; i--, v >>= 8n) buf[i] = Number(v & 0xffn);
  buf[at] = 0x80;
}

/** A field that fits in ustar as written, else a stand-in (the PAX record carries the value). */
const fits = (s: string, max: number): boolean => isAscii(s) && s.length <= max;
const standIn = (s: string, max: number): string => s.replace(/[^\x01-\x7f]/g, '_').slice(0, max);

interface Ustar {
  name: string;
  flag: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

function ustar(u: Ustar): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(u.name, 0, 100, 'ascii');
  octal(b, 100, 8, u.mode);
  octal(b, 108, 8, u.uid);
  octal(b, 116, 8, u.gid);
  if (u.size > MAX11) base256(b, 124, 12, u.size);
  else octal(b, 124, 12, u.size);
  octal(b, 136, 12, u.mtime);
  b[156] = u.flag;
  b.write(u.linkname, 157, 100, 'ascii');
  b.write('ustar\x0000', 257, 8, 'ascii');
  octal(b, 329, 8, u.devmajor);
  octal(b, 337, 8, u.devminor);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\x00 `, 148, 8, 'ascii');
  return b;
}

/** One PAX record: `LEN key=value\n`, LEN counting itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3; // ' ', '=', '\n'
  let len = rest + String(rest).length;
  if (String(len).length !== String(len - rest).length) len = rest + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
}

/** PAX's decimal time: seconds, then up to nine fraction digits without trailing zeros. */
function paxTime(sec: number, nsec: number): string {
  if (nsec === 0) return String(sec);
  return `${sec}.${String(nsec).padStart(9, '0').replace(/0+$/, '')}`;
}

/** The header block(s) for one entry: a PAX header first when needed, then the ustar block. */
export function encodeHeader(h: TarHeader): Buffer {
  const records: Buffer[] = [];
  const text = (key: string, v: string) => records.push(paxRecord(key, Buffer.from(v)));
  const linkname = h.linkname ?? '';
  if (!fits(h.name, 100)) records.push(paxRecord('path', encodeFsName(h.name)));
  if (!fits(linkname, 100)) records.push(paxRecord('linkpath', encodeFsName(linkname)));
  if (h.uid > MAX7) text('uid', String(h.uid));
  if (h.gid > MAX7) text('gid', String(h.gid));
  const plainTime = h.mtimeNsec === 0 && h.mtimeSec >= 0 && h.mtimeSec <= MAX11;
  if (!plainTime) text('mtime', paxTime(h.mtimeSec, h.mtimeNsec));
  for (const k of Object.keys(h.xattrs ?? {}).sort()) records.push(paxRecord(`SCHILY.xattr.${k}`, h.xattrs![k]!));
  const main = ustar({
    name: standIn(h.name, 100), flag: FLAGS[h.type], mode: h.mode & 0o7777, uid: h.uid > MAX7 ? 0 : h.uid,
    gid: h.gid > MAX7 ? 0 : h.gid, size: h.type === 'file' ? h.size : 0,
    mtime: Math.min(Math.max(h.mtimeSec, 0), MAX11), linkname: standIn(linkname, 100),
    devmajor: Math.min(h.devmajor ?? 0, MAX7), devminor: Math.min(h.devminor ?? 0, MAX7),
  });
  if (records.length === 0) return main;
  const body = Buffer.concat(records);
  const pax = ustar({ name: 'PaxHeader', flag: FLAGS.pax, mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 0,
    linkname: '', devmajor: 0, devminor: 0 });
  return Buffer.concat([pax, body, padding(body.length), main]);
}
