import { ImgError } from '../store/errors.js';
import type { Platform } from './oci.js';

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** This machine's platform in OCI terms. */
export function hostPlatform(): Platform {
  return { os: 'linux', architecture: ARCH[process.arch] ?? process.arch };
}

/** Parse `os/arch[/variant]`. */
export function parsePlatform(s: string): Platform {
  const [os, architecture, variant, ...rest] = s.split('/');
  if (!os || !architecture || rest.length) throw new ImgError('INVALID_ARGUMENT', `invalid platform "${s}": want os/arch[/variant]`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** The manifest of an index that matches `want`. */
export function pickPlatform<T extends { platform?: Platform }>(manifests: T[], want: Platform, what: string): T {
  const hit = manifests.find(
    (m) => m.platform?.os === want.os && m.platform.architecture === want.architecture && (!want.variant || m.platform.variant === want.variant),
  ) ?? (manifests.length === 1 && !manifests[0]!.platform ? manifests[0] : undefined);
  if (!hit) {
    const have = manifests.map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}` : '?')).join(', ');
    throw new ImgError('NOT_FOUND', `${what}: no manifest for ${want.os}/${want.architecture} (have ${have || 'none'})`);
  }
  return hit;
}
