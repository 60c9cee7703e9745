/** Stable error classes; callers branch on the code, never on the message. */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION'
  | 'DIGEST_MISMATCH'
  | 'UNAVAILABLE'
  | 'UNAUTHORIZED'
  | 'INTERNAL';

export class ImgError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ImgError';
    this.code = code;
    this.hint = opts.hint;
  }
}

/** The message of any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** True when err (or anything in its cause chain) carries `code`. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ImgError && e.code === code) return true;
  }
  return false;
}

export const isNotFound = (err: unknown): boolean => hasCode(err, 'NOT_FOUND');

/** Re-throw `err` with context prepended, keeping its code. */
export function withContext(context: string, err: unknown): ImgError {
  const code = err instanceof ImgError ? err.code : 'INTERNAL';
  const hint = err instanceof ImgError ? err.hint : undefined;
  return new ImgError(code, `${context}: ${messageOf(err)}`, { cause: err, hint });
}
