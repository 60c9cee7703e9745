/** Run `fn` over `items` with at most `n` in flight; the first failure (in time) stops new work and is thrown. */
export async function mapLimit<T, R>(items: readonly T[], n: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let first: { err: unknown } | undefined;
  const worker = async () => {
    while (!first && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        first ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  if (first) throw first.err;
  return out;
}
