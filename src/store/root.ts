import path from 'node:path';

export const DEFAULT_ROOT = '/var/lib/lamina';

/** The store root from a flag, then env LAMINA_ROOT, then the default. */
export function storeRoot(flag?: string): string {
  return path.resolve(flag ?? process.env.LAMINA_ROOT ?? DEFAULT_ROOT);
}
