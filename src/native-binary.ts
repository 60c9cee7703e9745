/**
 * Where the C binaries are (lamina-mountd, lamina-exec): $LAMINA_NATIVE_DIR when set (e.g.
 * native/build-asan, for a sanitizer run), else native/build, which `npm run build` fills.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = () => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function nativeBinary(name: 'lamina-mountd' | 'lamina-exec'): string {
  const dir = process.env.LAMINA_NATIVE_DIR ? path.resolve(process.env.LAMINA_NATIVE_DIR) : path.join(repoRoot(), 'native', 'build');
  return path.join(dir, name);
}
