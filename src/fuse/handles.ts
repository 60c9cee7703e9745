import fs from 'node:fs';
import os from 'node:os';
import { FsError, fsError } from '../union/errno.js';
import type { Node } from '../union/view.js';

const { O_RDONLY, O_TRUNC } = fs.constants;
const O_ACCMODE = 3; // Linux; node does not export it
const MAX_HANDLE = 0x7fffffff; // fuse-native passes handles through int32 and treats 0 as "none"

interface Handle {
  fd: number;
  offset: number;
  size: number;
  /** A file of the writable layer, opened for this handle alone (closed on release). */
  host?: boolean;
}

const { O_CREAT, O_EXCL, O_APPEND } = fs.constants;
/** Writes up to this size are done on the JS thread (see write()). */
const SYNC_WRITE_MAX = 64 << 10;

function openFd(file: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}

function pwrite(fd: number, buf: Buffer, at: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.write(fd, buf, at, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
}

function pread(fd: number, buf: Buffer, at: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buf, at, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
}

/**
 * Open files of a read-only mount. Bytes are pread straight from the layer tar into
 * the kernel's buffer; each data file is opened once and kept open until close(),
 * since a mount reads from only as many tars as its image has layers.
 */
export class FileHandles {
  private readonly handles = new Map<number, Handle>();
  private readonly fds = new Map<string, Promise<number>>();
  private next = 1;

  /** A handle for reading `node`; writes answer EROFS. */
  async open(node: Node, flags: number): Promise<number> {
    if ((flags & O_ACCMODE) !== O_RDONLY || flags & O_TRUNC) throw fsError('EROFS');
    if (node.type === 'dir') throw fsError('EISDIR');
    const fd = node.data ? await this.dataFd(node.data.file) : -1;
    if (fd < 0 && node.type === 'file' && node.size > 0) throw new FsError(os.constants.errno.EIO, 'file has no data');
    return this.add({ fd, offset: node.data?.offset ?? 0, size: node.type === 'file' ? node.size : 0 });
  }

  /** Reads up to `len` bytes at `pos` into `buf`, clamped at the file's size. */
  async read(fh: number, buf: Buffer, len: number, pos: number): Promise<number> {
    const h = this.handles.get(fh);
    if (!h) throw fsError('EBADF');
    const want = Math.min(len, h.size - pos);
    let got = 0;
    while (got < want) {
      const n = await pread(h.fd, buf, got, want - got, h.offset + pos + got);
      if (n === 0 && h.host) break; // end of a host file
      if (n === 0) throw new FsError(os.constants.errno.EIO, `data file ends before ${h.offset + h.size}`);
      got += n;
    }
    return Math.max(got, 0);
  }

  /**
   * A handle on a host file of the writable layer. O_APPEND is dropped: the kernel
   * already turns appends into writes at the end of the file it knows.
   */
  async openHost(file: string, flags: number): Promise<number> {
    // Synchronous, like the writable layer's other metadata calls: a trip through libuv's
    // pool costs more than the open itself (untar: one per file).
    const fd = fs.openSync(file, flags & ~(O_CREAT | O_EXCL | O_APPEND));
    return this.add({ fd, offset: 0, size: Infinity, host: true });
  }

  /** Writes `len` bytes of `buf` at `pos`; returns the count written. */
  async write(fh: number, buf: Buffer, len: number, pos: number): Promise<number> {
    const h = this.hostHandle(fh);
    let done = 0;
    // Small writes (a page-cache copy) go synchronously; big ones through the pool, so that
    // a writer throttled by dirty-page writeback does not hold up every other request.
    if (len <= SYNC_WRITE_MAX) while (done < len) done += fs.writeSync(h.fd, buf, done, len - done, pos + done);
    while (done < len) done += await pwrite(h.fd, buf, done, len - done, pos + done);
    return done;
  }

  async truncate(fh: number, size: number): Promise<void> {
    await new Promise<void>((resolve, reject) => fs.ftruncate(this.hostHandle(fh).fd, size, (err) => (err ? reject(err) : resolve())));
  }

  async fsync(fh: number, datasync: boolean): Promise<void> {
    const h = this.handles.get(fh);
    if (!h?.host) return; // lower data never changes
    await new Promise<void>((resolve, reject) => (datasync ? fs.fdatasync : fs.fsync)(h.fd, (err) => (err ? reject(err) : resolve())));
  }

  async release(fh: number): Promise<void> {
    const h = this.handles.get(fh);
    this.handles.delete(fh);
    if (h?.host) {
      try {
        fs.closeSync(h.fd);
      } catch {
        /* the kernel ignores release errors */
      }
    }
  }

  private hostHandle(fh: number): Handle {
    const h = this.handles.get(fh);
    if (!h) throw fsError('EBADF');
    if (!h.host) throw fsError('EBADF'); // a lower file is never opened for writing
    return h;
  }

  /** Closes every cached data file descriptor. */
  async close(): Promise<void> {
    const fds = await Promise.allSettled(this.fds.values());
    this.fds.clear();
    for (const r of fds) if (r.status === 'fulfilled') fs.close(r.value, () => undefined);
  }

  private dataFd(file: string): Promise<number> {
    let fd = this.fds.get(file);
    if (!fd) {
      fd = openFd(file).catch((err: unknown) => {
        this.fds.delete(file); // retry on the next open
        console.error(`lamina-fuse: opening data file ${file}:`, err);
        throw new FsError(os.constants.errno.EIO, `data file ${file} unavailable`);
      });
      this.fds.set(file, fd);
    }
    return fd;
  }

  private add(h: Handle): number {
    while (this.handles.has(this.next)) this.next = this.next >= MAX_HANDLE ? 1 : this.next + 1;
    const fh = this.next;
    this.handles.set(fh, h);
    this.next = fh >= MAX_HANDLE ? 1 : fh + 1;
    return fh;
  }
}
