/** A pass-through byte source that hashes everything it yields, so a failed consumer can still learn the digest. */
import { createHash } from 'node:crypto';
import type { Digest } from '../store/types.js';

export class HashingSource implements AsyncIterable<Buffer> {
  private readonly hash = createHash('sha256');
  private readonly it: AsyncIterator<Buffer>;

  constructor(src: AsyncIterable<Buffer>) {
    this.it = src[Symbol.asyncIterator]();
  }

  /** The consumer's return() leaves the source open, so digest() can read the rest. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: async () => {
        const r = await this.it.next();
        if (!r.done) this.hash.update(r.value);
        return r;
      },
      return: async () => ({ done: true, value: undefined }),
    };
  }

  /** Read whatever is left and return the digest of the whole stream. */
  async digest(): Promise<Digest> {
    for (let r = await this.it.next(); !r.done; r = await this.it.next()) this.hash.update(r.value);
    return `sha256:${this.hash.digest('hex')}`;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}
