// Streaming a lower file's bytes from its layer tar into an upper file: async
// reads and writes in 1 MiB chunks (the event loop keeps serving other FUSE ops
// between chunks), all-zero 64 KiB blocks left as holes so sparse files stay sparse.
import fs from 'node:fs/promises';
import { FsError } from '../../union/errno.js';
import type { Node } from '../../union/view.js';

const CHUNK = 1 << 20;
const BLOCK = 64 << 10;
const ZERO = Buffer.alloc(BLOCK);

/** Copies `limit` (default: all) bytes of lower file `from` into `fd`, then sets the file's size. */
export async function copyData(from: Node, fd: fs.FileHandle, size = from.size): Promise<void> {
  const want = Math.min(size, from.size);
  if (want > 0) {
    if (!from.data) throw new FsError(5, `lower file has no data (size ${from.size})`);
    const src = await fs.open(from.data.file, 'r');
    try {
      await pump(src, from.data.offset, fd, want);
    } finally {
      await src.close();
    }
  }
  await fd.truncate(size);
}

async function pump(src: fs.FileHandle, base: number, dst: fs.FileHandle, total: number): Promise<void> {
  const buf = Buffer.allocUnsafe(CHUNK);
  for (let pos = 0; pos < total;) {
    const len = Math.min(CHUNK, total - pos);
    const { bytesRead } = await src.read(buf, 0, len, base + pos);
    if (bytesRead <= 0) throw new FsError(5, `layer tar ends ${total - pos} bytes early`);
    await writeNonZero(dst, buf.subarray(0, bytesRead), pos);
    pos += bytesRead;
  }
}

/** Writes runs of blocks that are not all zero; zero blocks stay holes. */
async function writeNonZero(dst: fs.FileHandle, chunk: Buffer, pos: number): Promise<void> {
  let runStart = -1;
  for (let off = 0; off < chunk.length; off += BLOCK) {
    const block = chunk.subarray(off, off + BLOCK);
    const zero = block.equals(ZERO.subarray(0, block.length));
    if (!zero && runStart < 0) runStart = off;
    if (zero && runStart >= 0) {
      await writeAll(dst, chunk.subarray(runStart, off), pos + runStart);
      runStart = -1;
    }
  }
  if (runStart >= 0) await writeAll(dst, chunk.subarray(runStart), pos + runStart);
}

async function writeAll(dst: fs.FileHandle, data: Buffer, pos: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await dst.write(data, done, data.length - done, pos + done);
    done += bytesWritten;
  }
}
