/**
 * File names are bytes to the kernel and to tar, but strings everywhere in lamina (SQLite TEXT,
 * JSON, Maps). These two functions convert losslessly: valid UTF-8 decodes as usual, and every
 * byte that is not part of valid UTF-8 becomes one code point U+10FF80..U+10FFFF (the end of
 * Supplementary Private Use Area-B), in the spirit of Python's surrogateescape but with code
 * points that survive SQLite and JSON. A name that really contains such a code point has its
 * UTF-8 bytes escaped the same way, so decode(encode(s)) === s and encode(decode(b)) equals b.
 */

const ESCAPE_BASE = 0x10ff00;
const ESCAPE_FIRST = 0x10ff80;

/** True when the string may contain escaped bytes (U+10FF80.. is \uDBFF\uDF80.. in UTF-16). */
const mayHaveEscapes = (s: string): boolean => s.includes('\uDBFF');

/** The name as a string; `bytes` may hold any bytes, including invalid UTF-8. */
export function decodeFsName(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fast = buf.toString('utf8');
  if (!fast.includes('\uFFFD') && !mayHaveEscapes(fast)) return fast;
  let out = '';
  for (let i = 0; i < buf.length;) {
    const n = sequenceLength(buf, i);
    const cp = n > 0 ? codePointAt(buf, i, n) : -1;
    if (cp >= 0 && cp < ESCAPE_FIRST) {
      out += String.fromCodePoint(cp);
      i += n;
    } else {
      // an invalid byte, or a real code point in our escape range: escape its bytes one by one
      const end = cp < 0 ? i + 1 : i + n;
      for (; i < end; i++) out += String.fromCodePoint(ESCAPE_BASE + buf[i]!);
    }
  }
  return out;
}

/** The bytes of a name produced by decodeFsName (or any ordinary string). */
export function encodeFsName(name: string): Buffer {
  if (!mayHaveEscapes(name)) return Buffer.from(name, 'utf8');
  const parts: number[] = [];
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    if (cp >= ESCAPE_FIRST) parts.push(cp - ESCAPE_BASE);
    else for (const b of Buffer.from(ch, 'utf8')) parts.push(b);
  }
  return Buffer.from(parts);
}

/** The name with escaped bytes shown as \xHH, for messages and listings. */
export function printableFsName(name: string): string {
  if (!mayHaveEscapes(name)) return name;
  return [...name].map((ch) => {
    const cp = ch.codePointAt(0)!;
    return cp >= ESCAPE_FIRST ? `\\x${(cp - ESCAPE_BASE).toString(16).padStart(2, '0')}` : ch;
  }).join('');
}

/** Length of the well-formed UTF-8 sequence at `i` (RFC 3629: no overlongs, no surrogates), or 0. */
function sequenceLength(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

function codePointAt(b: Buffer, i: number, n: number): number {
  if (n === 1) return b[i]!;
  let cp = b[i]! & (0xff >> (n + 1));
  for (let k = 1; k < n; k++) cp = (cp << 6) | (b[i + k]! & 0x3f);
  return cp;
}
