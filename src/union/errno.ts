import os from 'node:os';
import { hasCode } from '../store/errors.js';

const E = os.constants.errno;

/** A POSIX outcome decided by lamina; its errno is what the FUSE op answers. */
export class FsError extends Error {
  readonly errno: number;

  constructor(errno: number, message?: string) {
    super(message ?? `errno ${errno}`);
    this.name = 'FsError';
    this.errno = errno;
  }
}

/** Shorthand for `new FsError(os.constants.errno[code], message)`. */
export function fsError(code: keyof typeof E, message?: string): FsError {
  return new FsError(E[code], message ?? code);
}

/** The positive errno for any thrown value; unexpected errors become EIO and are logged. */
export function toErrno(err: unknown): number {
  if (err instanceof FsError) return err.errno;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code in E) return E[code as keyof typeof E];
  if (hasCode(err, 'NOT_FOUND')) return E.ENOENT;
  if (hasCode(err, 'ALREADY_EXISTS')) return E.EEXIST;
  console.error('lamina-fuse: unmapped error in FUSE op:', err);
  return E.EIO;
}
