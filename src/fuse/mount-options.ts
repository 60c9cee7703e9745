/** How a mount is presented to the kernel (native-server.ts turns this into libfuse3 options). */
export interface FuseMountOpts {
  /** Mount `ro` (default true). */
  readOnly?: boolean;
  /** Shown as the mount's source in /proc/mounts (default "lamina"). */
  fsname?: string;
  /**
   * 'long' (default): the server lets the kernel keep entries, attributes and negative lookups
   * (every change goes through the server, so they stay true); 'default': 1 s; 'off': nothing
   * cached, for comparisons.
   */
  cache?: 'long' | 'default' | 'off';
  /** Cache lifetime in seconds for cache 'long' (default one year). */
  timeoutSec?: number;
  /** Honour setuid/setgid bits and device nodes (default nosuid,nodev); only for mounts no host user can reach. */
  suid?: boolean;
  dev?: boolean;
  /** libfuse debug output on the server's stderr. */
  debug?: boolean;
}
