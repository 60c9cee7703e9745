/** A byte source its consumer may leave early without closing it, so the rest can still be read. */
export class DrainableSource implements AsyncIterable<Buffer> {
  private readonly it: AsyncIterator<Buffer>;

  constructor(src: AsyncIterable<Buffer>) {
    this.it = src[Symbol.asyncIterator]();
  }

  /** The consumer's return() leaves the source open, so drain() can read the rest. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: () => this.it.next(),
      return: async () => ({ done: true, value: undefined }),
    };
  }

  /** Read whatever is left; a checking source (blobBytes) throws here when the whole is wrong. */
  async drain(): Promise<void> {
    for (let r = await this.it.next(); !r.done; r = await this.it.next());
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}
