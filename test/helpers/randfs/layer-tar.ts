/**
 * Writes a generated layer as an uncompressed tar whose names, link targets and xattr
 * values are exact bytes. The product's own writer (src/image/tar/pack.ts) takes names
 * as strings, and test/helpers/images.ts uses tar-stream, which encodes PAX values as
 * strings: neither can write a name that is not UTF-8, which is what this must test.
 */
import { writeFile } from 'node:fs/promises';
import { memberName, type GenEntry, type GenLayer } from './random-layers.js';

const BLOCK = 512;
const FLAG: Record<GenEntry['type'], string> = {
  file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6', whiteout: '0', opaque: '0',
};
const MAX_OCTAL7 = 0o7777777;
const MAX_OCTAL11 = 0o77777777777;

/** `LEN key=value\n`, LEN counting the whole record. */
function record(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

const fitsUstar = (b: Buffer, max: number) => b.length <= max && b.every((c) => c > 0 && c < 0x80);

function paxTime([sec, nsec]: [number, number]): string {
  // PAX: a negative time with a fraction is written as -(whole).fraction of the absolute value
  if (nsec === 0) return String(sec);
  const abs = sec < 0 ? [-sec - 1, 1e9 - nsec] : [sec, nsec];
  return `${sec < 0 ? '-' : ''}${abs[0]}.${String(abs[1]).padStart(9, '0')}`;
}

function paxRecords(e: GenEntry, name: Buffer): Buffer[] {
  const out: Buffer[] = [];
  if (!fitsUstar(name, 100)) out.push(record('path', name));
  if (e.linkname && !fitsUstar(e.linkname, 100)) out.push(record('linkpath', e.linkname));
  if (e.uid > MAX_OCTAL7) out.push(record('uid', Buffer.from(String(e.uid))));
  if (e.gid > MAX_OCTAL7) out.push(record('gid', Buffer.from(String(e.gid))));
  if (e.mtime[1] !== 0 || e.mtime[0] < 0 || e.mtime[0] > MAX_OCTAL11) out.push(record('mtime', Buffer.from(paxTime(e.mtime))));
  for (const [k, v] of e.xattrs ?? []) out.push(record(`SCHILY.xattr.${k}`, v));
  return out;
}

function octal(b: Buffer, at: number, width: number, v: number): void {
  b.write(v.toString(8).padStart(width - 1, '0'), at, width - 1, 'ascii');
}

function ustar(name: Buffer, flag: string, e: GenEntry, size: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  (fitsUstar(name, 100) ? name : Buffer.from('pax-named')).copy(b, 0);
  octal(b, 100, 8, e.mode);
  octal(b, 108, 8, e.uid > MAX_OCTAL7 ? 0 : e.uid);
  octal(b, 116, 8, e.gid > MAX_OCTAL7 ? 0 : e.gid);
  octal(b, 124, 12, size);
  octal(b, 136, 12, Math.min(Math.max(e.mtime[0], 0), MAX_OCTAL11));
  b.write(flag, 156, 1, 'ascii');
  if (e.linkname) (fitsUstar(e.linkname, 100) ? e.linkname : Buffer.from('pax-link')).copy(b, 157);
  b.write('ustar\x0000', 257, 8, 'ascii');
  octal(b, 329, 8, e.dev?.[0] ?? 0);
  octal(b, 337, 8, e.dev?.[1] ?? 0);
  b.fill(0x20, 148, 156);
  const sum = b.reduce((s, c) => s + c, 0);
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return b;
}

const pad = (n: number) => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);

/** The tar bytes of one layer. */
export function layerTar(layer: GenLayer): Buffer {
  const parts: Buffer[] = [];
  for (const e of layer.entries) {
    const name = memberName(e);
    const pax = paxRecords(e, name);
    if (pax.length) {
      const body = Buffer.concat(pax);
      const meta: GenEntry = { ...e, mode: 0o644, uid: 0, gid: 0, mtime: [0, 0], linkname: undefined, dev: undefined };
      parts.push(ustar(Buffer.from('PaxHeaders/entry'), 'x', meta, body.length), body, pad(body.length));
    }
    const size = e.type === 'file' ? (e.content?.length ?? 0) : 0;
    parts.push(ustar(name, FLAG[e.type], e, size));
    if (size) parts.push(e.content!, pad(size));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

export async function writeLayerTar(file: string, layer: GenLayer): Promise<void> {
  await writeFile(file, layerTar(layer));
}
