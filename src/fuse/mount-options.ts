/** How a mount is presented to the kernel. */
export interface FuseMountOpts {
  /** Mount `ro` (default true). A writable mount keeps no page cache across opens (see `cache`). */
  readOnly?: boolean;
  /** Shown as the mount's source in /proc/mounts (default "lamina"). */
  fsname?: string;
  /**
   * 'long' (default): lower layers never change, so dentries, attributes, negative
   * lookups and page cache are kept (see native-notes/caching.md).
   * 'default': libfuse's 1 s entry/attr timeouts, page cache dropped on open.
   * 'off': nothing cached; for comparisons.
   */
  cache?: 'long' | 'default' | 'off';
  /** Entry/attr/negative timeout in seconds for cache 'long' (default one day). */
  timeoutSec?: number;
  /** Honour setuid/setgid bits and device nodes (default nosuid,nodev); only for mounts no host user can reach. */
  suid?: boolean;
  dev?: boolean;
  /** libfuse debug output on the server's stderr. */
  debug?: boolean;
}

const CACHE: Record<NonNullable<FuseMountOpts['cache']>, (t: number) => string[]> = {
  long: (t) => [`entry_timeout=${t}`, `attr_timeout=${t}`, `negative_timeout=${t}`, 'kernel_cache'],
  default: () => [],
  off: () => ['entry_timeout=0', 'attr_timeout=0', 'negative_timeout=0'],
};

/**
 * Lower layers never change, but a writable layer does, and libfuse2's path API gives each
 * hard link its own kernel inode: another link's cached size, nlink and pages would go stale.
 * So a writable 'long' mount keeps dentries and negative lookups, revalidates attributes
 * after 0.1 s and checks mtime/size on every open (auto_cache, ac_attr_timeout=0) instead of
 * kernel_cache. A container's root also honours setuid bits and device nodes (suid, dev),
 * as docker's overlay mounts do; image mounts keep the kernel's nosuid,nodev default.
 */
function cacheOptions(o: FuseMountOpts): string[] {
  const t = o.timeoutSec ?? 86_400;
  if ((o.readOnly ?? true) || (o.cache ?? 'long') !== 'long') return CACHE[o.cache ?? 'long'](t);
  return [`entry_timeout=${t}`, `negative_timeout=${t}`, 'attr_timeout=0.1', 'auto_cache', 'ac_attr_timeout=0'];
}

/** The libfuse2 -o list for a mount. */
export function mountOptions(o: FuseMountOpts = {}): string[] {
  const fsname = (o.fsname ?? 'lamina').replace(/[^\w.:@/+-]/g, '_');
  return [
    `fsname=${fsname}`,
    'subtype=lamina',
    'allow_other', // other users (containers' uids) see the tree ...
    'default_permissions', // ... and the kernel enforces its modes and owners
    'use_ino', // st_ino and d_ino come from Node.ino, so hardlinks share one
    'nonempty', // libfuse2 alone refuses non-empty mountpoints; libfuse3 and overlayfs allow them
    // libfuse2 splits writes into 4 KiB without big_writes; without atomic_o_trunc the kernel
    // strips O_TRUNC from OPEN (then truncates), so `> file` would copy a lower file's data up first
    ...(o.readOnly ?? true ? ['ro'] : ['suid', 'dev', 'big_writes', 'atomic_o_trunc']),
    ...cacheOptions(o),
    ...(o.debug ? ['debug'] : []),
  ];
}
