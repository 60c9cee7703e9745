import fs from 'node:fs';
import os from 'node:os';
import { FsError, fsError } from './errno.js';
import type { Node } from './view.js';

const { O_RDONLY, O_TRUNC } = fs.constants;
const O_ACCMODE = 3; // Linux; node does not export it
const MAX_HANDLE = 0x7fffffff; // fuse-native passes handles through int32 and treats 0 as "none"

interface Handle {
  fd: number;
  offset: number;
  size: number;
}

function openFd(file: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
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
      if (n === 0) throw new FsError(os.constants.errno.EIO, `data file ends before ${h.offset + h.size}`);
      got += n;
    }
    return Math.max(got, 0);
  }

  release(fh: number): void {
    this.handles.delete(fh);
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
