/** Shared value types of the store. */

/** A content digest, always `sha256:<64 hex>`. */
export type Digest = `sha256:${string}`;

/** Entry types as a layer tar records them; `link` is a hardlink to `linkname`. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';

/** One entry of a layer tar, exactly as the tar records it (paths normalized, markers kept). */
export interface LayerEntry {
  /** Relative path without leading `./` or `/`; `''` is the layer root. */
  path: string;
  type: EntryType;
  /** Permission bits including setuid, setgid and sticky (mask 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Data bytes stored in the tar (0 for everything but regular files). */
  size: number;
  mtimeSec: number;
  /** Nanoseconds within the second; non-zero only when a PAX header gives them. */
  mtimeNsec: number;
  /** Symlink target (as written) or hardlink target (normalized like `path`). */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes from PAX `SCHILY.xattr.*`, values as raw bytes. */
  xattrs?: Record<string, Buffer>;
  /** Basename is `.wh.NAME`: this entry hides NAME in lower layers. */
  whiteout: boolean;
  /** Basename is `.wh..wh..opq`: the parent directory hides its lower contents. */
  opaque: boolean;
  /** Byte offset of the entry's data in the uncompressed layer tar. */
  offset: number;
}

export type Compression = 'none' | 'gzip' | 'zstd';
