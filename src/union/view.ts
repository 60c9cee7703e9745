import type { EntryType } from '../store/types.js';

/** Node types as the merged filesystem shows them (hardlinks are files with nlink > 1). */
export type NodeType = Exclude<EntryType, 'link'>;

/** One entry of the merged view, with everything getattr needs. */
export interface Node {
  /** Stable inode number: the same path (or hardlink group) always gets the same one. */
  ino: number;
  type: NodeType;
  /** Permission bits including setuid, setgid and sticky (mask 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeSec: number;
  mtimeNsec: number;
  nlink: number;
  /** Symlink target, returned verbatim (never resolved). */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Where a regular file's bytes live: a file on the host and the offset of byte 0. */
  data?: { file: string; offset: number };
}

/**
 * Read-only merged view of an image, as the TypeScript union model consumes it.
 * Paths are absolute inside the mount: `/`, `/etc/passwd`.
 */
export interface MergedView {
  /** The node at `path`, or undefined when it does not exist in the merged view. */
  lookup(path: string): Node | undefined;
  /** Names in the directory at `path` (no `.`/`..`, no whiteout markers), or undefined. */
  readdir(path: string): string[] | undefined;
  /** Extended attributes of the node at `path` (empty when none). */
  xattrs(path: string): Record<string, Buffer>;
  /** One extended attribute, when a view can answer that faster than xattrs(); throws ENOENT for a missing node. */
  xattr?(path: string, name: string): Buffer | undefined;
  /** Totals for statfs. */
  stats(): { files: number; bytes: number };
  /** Releases what the view holds open (database handles); called once when the mount ends. */
  close?(): void | Promise<void>;
}
