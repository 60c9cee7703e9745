import { createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ImgError, messageOf } from '../errors.js';

/** fsync a directory so a rename in it survives a crash. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * docker export's output: `tar` written to `file` through `file.tmp-<pid>` (fsynced, then
 * renamed into place, so a failed export leaves no partial file), or streamed to stdout
 * when `file` is undefined (not atomic: a failure leaves a truncated stream and an error).
 */
export async function writeTar(tar: AsyncIterable<Buffer>, file: string | undefined): Promise<void> {
  if (file === undefined) return pipeline(Readable.from(tar, { objectMode: false }), process.stdout, { end: false });
  const dir = path.dirname(path.resolve(file));
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) throw new ImgError('NOT_FOUND', `${file}: directory ${dir} does not exist`);
  if ((await stat(file).catch(() => undefined))?.isDirectory()) throw new ImgError('INVALID_ARGUMENT', `${file}: is a directory`);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await pipeline(Readable.from(tar, { objectMode: false }), createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: true }));
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err instanceof ImgError ? err : new ImgError('UNAVAILABLE', `${file}: ${messageOf(err)}`, { cause: err });
  }
  await syncDir(dir);
}
