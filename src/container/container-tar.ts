// A container's filesystem as tar bytes, read from the host upper dir and the image's
// layer tars directly (never through a FUSE mount): its writable layer as an OCI layer
// changeset (commit), or its whole merged view as one flat tar (export).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { ImgError, messageOf } from '../store/errors.js';
import { encodeHeader, END_OF_ARCHIVE, padding, type TarHeader } from '../image/tar/pack.js';
import { childOf, UnionResolver, type Resolved } from '../union/container.js';
import { memberName, planChangeset, type ChangeItem } from './upper/changeset.js';
import { HostUpper } from './upper/host-upper.js';
import type { MergedView, Node } from '../union/view.js';

/** One member to write. */
interface TarItem {
  name: string;
  /** Undefined for a whiteout or opaque marker (an empty regular file). */
  node?: Node;
  xattrs?: () => Record<string, Buffer>;
  /** A regular file's bytes: a host file (read to its current size), or a lower file's bytes in its layer tar. */
  data?: { host: Buffer } | { lower: Node };
  /** Files with the same key are one inode: the first is written, the others as links to it. */
  linkKey?: string;
}

const CHUNK = 1 << 20;
const { O_RDONLY, O_NOFOLLOW } = fs.constants;

/** Open files of the layer tars, one descriptor each. */
class LayerFiles {
  private readonly fds = new Map<string, number>();
  fd(file: string): number {
    let fd = this.fds.get(file);
    if (fd === undefined) this.fds.set(file, (fd = fs.openSync(file, 'r')));
    return fd;
  }
  close(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
  }
}

function headerOf(item: TarItem, size: number): TarHeader {
  const n = item.node;
  if (!n) return { name: item.name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtimeSec: 0, mtimeNsec: 0 };
  const xattrs = item.xattrs?.();
  return {
    name: item.name, type: n.type, mode: n.mode, uid: n.uid, gid: n.gid, size, mtimeSec: n.mtimeSec, mtimeNsec: n.mtimeNsec,
    linkname: n.type === 'symlink' ? n.linkname : undefined,
    devmajor: n.devmajor, devminor: n.devminor,
    ...(xattrs && Object.keys(xattrs).length > 0 && { xattrs }),
  };
}

/** `size` bytes of `fd` from `pos`, in chunks; `short` is the error when the file ends early. */
function* readRange(fd: number, pos: number, size: number, short: () => Error): Generator<Buffer> {
  for (let done = 0; done < size;) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - done));
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, pos + done + got);
      if (n === 0) throw short();
      got += n;
    }
    done += got;
    yield buf;
  }
}

/** A writable-layer file that changed or went away while being read (the container is live). */
const changed = (name: string, why: string, cause?: unknown) =>
  new ImgError('FAILED_PRECONDITION', `/${name}: ${why}`, { cause, hint: 'stop what writes to the container, then retry' });

/** Header and bytes of a host file, its size taken from the open descriptor. */
function* hostFile(item: TarItem, file: Buffer): Generator<Buffer> {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW);
  } catch (err) {
    throw changed(item.name, messageOf(err), err);
  }
  try {
    const size = fs.fstatSync(fd).size;
    yield encodeHeader(headerOf(item, size));
    yield* readRange(fd, 0, size, () => changed(item.name, `shrank below ${size} bytes while being read`));
    yield padding(size);
  } finally {
    fs.closeSync(fd);
  }
}

/** Header and bytes of a file whose data sits in a layer tar; past the lower file's end, zeros. */
function* lowerFile(item: TarItem, from: Node, files: LayerFiles): Generator<Buffer> {
  const size = item.node!.size;
  yield encodeHeader(headerOf(item, size));
  const have = Math.min(size, from.size);
  if (have > 0) {
    if (!from.data) throw new ImgError('INTERNAL', `${item.name}: lower file has no data`);
    const { file, offset } = from.data;
    yield* readRange(files.fd(file), offset, have, () => new ImgError('INTERNAL', `${file}: layer tar ends inside /${item.name} (run lamina fsck)`));
  }
  if (size > have) yield Buffer.alloc(size - have);
  yield padding(size);
}

/** The tar of `items`, in their order, as headers and data chunks of up to 1 MiB. */
function* tarChunks(items: Iterable<TarItem>): Generator<Buffer> {
  const files = new LayerFiles();
  const links = new Map<string, string>();
  try {
    for (const item of items) {
      const n = item.node;
      if (n?.type !== 'file') {
        yield encodeHeader(headerOf(item, 0));
        continue;
      }
      const first = item.linkKey === undefined ? undefined : links.get(item.linkKey);
      if (first !== undefined) {
        yield encodeHeader({ name: item.name, type: 'link', linkname: first, mode: n.mode, uid: n.uid, gid: n.gid, size: 0,
          mtimeSec: n.mtimeSec, mtimeNsec: n.mtimeNsec });
        continue;
      }
      if (item.linkKey !== undefined) links.set(item.linkKey, item.name);
      if (item.data && 'host' in item.data) yield* hostFile(item, item.data.host);
      else yield* lowerFile(item, item.data?.lower ?? { ...n, size: 0 }, files);
    }
    yield END_OF_ARCHIVE;
  } finally {
    files.close();
  }
}

/**
 * Small pieces joined into chunks of at least `min` bytes. Passing each 512-byte header on
 * by itself cost one zlib call per piece: 20,000 small files took 5.1 s to commit, mostly
 * in zlib's per-call overhead, against 0.5 s for `tar | gzip -6`.
 */
function* coalesce(src: Iterable<Buffer>, min = CHUNK): Generator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  for (const b of src) {
    if (b.length >= min && n === 0) {
      yield b;
      continue;
    }
    parts.push(b);
    n += b.length;
    if (n >= min) {
      yield Buffer.concat(parts, n);
      parts = [];
      n = 0;
    }
  }
  if (n > 0) yield Buffer.concat(parts, n);
}

/** The tar of `items`; the walk and the reads are synchronous, between the consumer's awaits. */
async function* tarOf(items: Iterable<TarItem>): AsyncGenerator<Buffer> {
  yield* coalesce(tarChunks(items));
}

const linkKey = (layer: string, n: Node): string | undefined => (n.type === 'file' && n.nlink > 1 ? `${layer}:${n.ino}` : undefined);

function changeItem(c: ChangeItem, upper: HostUpper, lower: MergedView): TarItem {
  const name = memberName(c);
  if (c.kind === 'whiteout' || c.kind === 'opaque') return { name };
  if (c.kind === 'lower') {
    return { name, node: c.node, xattrs: () => lower.xattrs(c.from), data: { lower: c.node }, linkKey: linkKey('lower', c.node) };
  }
  const data = c.data ? { lower: c.data } : { host: upper.host(c.path) };
  return { name, node: c.node, xattrs: () => upper.xattrs(c.path), data, linkKey: linkKey('upper', c.node) };
}

function* changeItems(u: UnionResolver, upper: HostUpper, lower: MergedView): Generator<TarItem> {
  const rootXattrsChanged = !sameXattrs(upper.xattrs('/'), lower.xattrs('/'));
  for (const c of planChangeset(u, { rootXattrsChanged })) yield changeItem(c, upper, lower);
}

function sameXattrs(a: Record<string, Buffer>, b: Record<string, Buffer>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] !== undefined && a[k]!.equals(b[k]!));
}

/**
 * The writable layer in `upperDir` over image view `lower`, as an uncompressed OCI layer tar
 * (see upper/changeset.ts for what goes in, and in which order). Reads the live upper dir:
 * changes made while it runs may or may not be included.
 */
export function containerLayerTar(lower: MergedView, upperDir: string, workDir: string, opts: LayerTarOpts = {}): AsyncGenerator<Buffer> {
  const upper = new HostUpper(upperDir, workDir);
  const items = changeItems(new UnionResolver(lower, upper), upper, lower);
  return tarOf(opts.mtimeMax === undefined ? items : clampedMtimes(items, opts.mtimeMax));
}

export interface LayerTarOpts {
  /** Later modification times are written as this one (seconds): SOURCE_DATE_EPOCH for reproducible builds. */
  mtimeMax?: number;
}

function* clampedMtimes(items: Iterable<TarItem>, max: number): Generator<TarItem> {
  for (const item of items) {
    const n = item.node;
    yield n && n.mtimeSec >= max && (n.mtimeSec > max || n.mtimeNsec > 0) ? { ...item, node: { ...n, mtimeSec: max, mtimeNsec: 0 } } : item;
  }
}

function mergedItem(r: Resolved, upper: HostUpper, lower: MergedView): TarItem {
  const { node, path } = r;
  const name = node.type === 'dir' ? `${path.slice(1)}/` : path.slice(1);
  const xattrs = () => (r.upper ? upper.xattrs(path) : lower.xattrs(r.lower!.path));
  if (node.type !== 'file') return { name, node, xattrs };
  const data = !r.upper ? { lower: node } : r.upper.metacopy && r.data ? { lower: r.data.node } : { host: upper.host(path) };
  return { name, node, xattrs, data, linkKey: node.nlink > 1 ? String(node.ino) : undefined };
}

function* mergedItems(u: UnionResolver, upper: HostUpper, lower: MergedView, dir = '/'): Generator<TarItem> {
  for (const name of u.list(dir) ?? []) {
    const r = u.resolve(childOf(dir, name));
    if (!r) continue;
    yield mergedItem(r, upper, lower);
    if (r.node.type === 'dir') yield* mergedItems(u, upper, lower, r.path);
  }
}

/** The merged view of a container (or, with an empty upper dir, of its image) as one flat tar, like docker export. */
export function containerExportTar(lower: MergedView, upperDir: string, workDir: string): AsyncGenerator<Buffer> {
  const upper = new HostUpper(upperDir, workDir);
  return tarOf(mergedItems(new UnionResolver(lower, upper), upper, lower));
}

/**
 * Pushes what a container's mount still holds in the kernel (pages written through a
 * shared mmap) to the mount server, which writes them to the upper dir: syncfs(2) on
 * the mount, via `sync -f`. write(2) needs nothing: the server pwrites each request to
 * the host file before replying, and the kernel keeps no writeback cache for the mount.
 */
export function flushMount(dir: string, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sync', ['-f', dir], { timeout: timeoutMs }, (err, _out, stderr) => {
      if (!err) return resolve();
      reject(new ImgError('UNAVAILABLE', `flushing the mount at ${dir}: ${stderr.trim() || messageOf(err)}`, { cause: err }));
    });
  });
}
