import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileTarget } from './archive-writer.js';
import { ImgError, messageOf } from '../store/errors.js';

/**
 * docker export's output: `tar` written to `file` through `file.tmp-<pid>` (fsynced, then
 * renamed into place, so a failed export leaves no partial file), or streamed to stdout
 * when `file` is undefined (not atomic: a failure leaves a truncated stream and an error).
 */
export async function writeTar(tar: AsyncIterable<Buffer>, file: string | undefined): Promise<void> {
  if (file === undefined) return pipeline(Readable.from(tar, { objectMode: false }), process.stdout, { end: false });
  const target = await fileTarget(file);
  try {
    await pipeline(Readable.from(tar, { objectMode: false }), target.stream);
    await target.commit();
  } catch (err) {
    await target.abort();
    throw err instanceof ImgError ? err : new ImgError('UNAVAILABLE', `${file}: ${messageOf(err)}`, { cause: err });
  }
}
