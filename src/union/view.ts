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
 * Read-only merged view of an image, as the FUSE adapter consumes it.
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

/** The owner a new entry gets: the uid and gid of the process that created it. */
export interface Owner {
  uid: number;
  gid: number;
}

/** Where an open file's bytes come from: a lower node (read-only) or a file on the host. */
export type OpenTarget = { node: Node } | { host: string };

/** Filesystem totals for statfs, in the units fuse-native wants (4 KiB blocks). */
export interface StatfsTotals {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

/**
 * A merged view that also takes changes (a container: image + writable layer).
 * Every method throws FsError (or a Node errno error) for POSIX outcomes.
 */
export interface WritableView extends MergedView {
  readonly writable: true;
  /** Prepares `path` for an open with `flags` (copying it up for writes). */
  open(path: string, flags: number): Promise<OpenTarget>;
  /** Creates an empty regular file; returns the host file to open. Without `owner`, the server owns new entries. */
  create(path: string, mode: number, owner?: Owner): Promise<string>;
  mkdir(path: string, mode: number, owner?: Owner): Promise<void>;
  /** `mode` includes the type bits; `dev` is the kernel's (glibc-encoded) device number. */
  mknod(path: string, mode: number, dev: number, owner?: Owner): Promise<void>;
  symlink(target: string, path: string, owner?: Owner): Promise<void>;
  link(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  /** -1 keeps the current owner or group. */
  chown(path: string, uid: number, gid: number): Promise<void>;
  /** [sec, nsec] pairs; nsec may be UTIME_NOW or UTIME_OMIT. */
  utimens(path: string, atime: [number, number], mtime: [number, number]): Promise<void>;
  truncate(path: string, size: number): Promise<void>;
  setxattr(path: string, name: string, value: Buffer, flags: number): Promise<void>;
  removexattr(path: string, name: string): Promise<void>;
  statfs(): Promise<StatfsTotals>;
}

/** True for views that accept changes. */
export const isWritable = (v: MergedView): v is WritableView => (v as Partial<WritableView>).writable === true;
