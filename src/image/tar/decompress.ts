/** Layer compression: detection by magic bytes and streaming decompressors. */
import { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import type { Compression } from '../../store/types.js';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Bytes `detectCompression` needs to see (fewer only at end of input). */
export const MAGIC_BYTES = ZSTD_MAGIC.length;

/** Which compression a stream starting with `head` uses; anything else is taken for a plain tar. */
export function detectCompression(head: Buffer): Compression {
  if (head.subarray(0, GZIP_MAGIC.length).equals(GZIP_MAGIC)) return 'gzip';
  if (head.subarray(0, ZSTD_MAGIC.length).equals(ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/** A transform from compressed bytes to the tar inside; gzip handles multi-member streams. */
export function decompressor(c: Exclude<Compression, 'none'>): Transform {
  // 256 KiB output chunks: the default 16 KiB means four times the writes and awaits per byte.
  return c === 'gzip' ? createGunzip({ chunkSize: 256 << 10 }) : zstdDecompressor();
}

function zstdDecompressor(): Transform {
  let out: Transform;
  const z = new Decompress((data) => {
    if (data.length > 0) out.push(Buffer.from(data.buffer, data.byteOffset, data.length));
  });
  out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try { z.push(chunk); cb(); } catch (err) { cb(zstdError(err)); }
    },
    flush(cb) {
      try { z.push(new Uint8Array(0), true); cb(); } catch (err) { cb(zstdError(err)); }
    },
  });
  return out;
}

const zstdError = (err: unknown): Error =>
  new Error(`zstd: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
