import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { ImgError, messageOf } from '../store/errors.js';
import { syncDir } from '../store/fsync.js';

/**
 * Where an archive goes. Members are added one at a time; nothing is visible
 * under the final name until commit(); abort() removes every trace.
 */
export interface ArchiveWriter {
  /** Add a small member held in memory. */
  add(name: string, data: Buffer): Promise<void>;
  /** Add a member of exactly `size` bytes streamed from `src`. */
  addStream(name: string, size: number, src: AsyncIterable<Buffer>): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** Fixed times and owners, so saving the same images twice gives the same bytes. */
const EPOCH = new Date(0);
const header = (name: string, type: 'file' | 'directory', size = 0): Partial<tar.Header> & { name: string } => ({
  name, type, size, mode: type === 'directory' ? 0o755 : 0o644, mtime: EPOCH, uid: 0, gid: 0,
});

/** A byte sink for a tar: a temp file renamed into place, or stdout. */
export interface TarTarget {
  stream: Writable;
  /** False for stdout, which must never be ended by us. */
  end: boolean;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

class TarWriter implements ArchiveWriter {
  private readonly pack = tar.pack();
  private readonly dirs = new Set<string>();
  private readonly done: Promise<void>;

  constructor(private readonly target: TarTarget) {
    this.done = pipeline(this.pack, target.stream, { end: target.end });
    this.done.catch(() => undefined);
  }

  /** tar lists a directory before its members, as docker's and GNU tar's archives do. */
  private parents(name: string): void {
    const parts = name.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = `${parts.slice(0, i).join('/')}/`;
      if (!this.dirs.has(dir)) this.pack.entry(header(dir, 'directory'));
      this.dirs.add(dir);
    }
  }

  async add(name: string, data: Buffer): Promise<void> {
    this.parents(name);
    await new Promise<void>((resolve, reject) => {
      this.pack.entry(header(name, 'file', data.length), data, (err) => (err ? reject(err) : resolve()));
    });
  }

  async addStream(name: string, size: number, src: AsyncIterable<Buffer>): Promise<void> {
    this.parents(name);
    // A streamx Writable, which node's pipeline drives like its own.
    await pipeline(src, this.pack.entry(header(name, 'file', size)) as unknown as Writable);
  }

  async commit(): Promise<void> {
    this.pack.finalize();
    await this.done;
    await this.target.commit();
  }

  async abort(): Promise<void> {
    this.pack.destroy();
    await this.done.catch(() => undefined);
    await this.target.abort();
  }
}

/** The parent directory must exist: we create the output, never its path. */
async function checkParent(out: string): Promise<void> {
  const dir = path.dirname(path.resolve(out));
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new ImgError('NOT_FOUND', `${out}: directory ${dir} does not exist`);
}

const tmpName = (out: string) => `${out.replace(/\/+$/, '')}.tmp-${process.pid}`;

/** A file written through `file.tmp-<pid>`: commit() renames it into place and fsyncs the directory. */
export async function fileTarget(file: string): Promise<TarTarget> {
  await checkParent(file);
  if ((await stat(file).catch(() => undefined))?.isDirectory()) {
    throw new ImgError('INVALID_ARGUMENT', `${file}: is a directory (use --format oci-dir to write a layout into it)`);
  }
  const tmp = tmpName(file);
  const stream: WriteStream = createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: true });
  await once(stream, 'open').catch((err) => {
    throw new ImgError('UNAVAILABLE', `${file}: ${messageOf(err)}`, { cause: err });
  });
  return {
    stream,
    end: true,
    async commit() {
      if (!stream.closed) await once(stream, 'close');
      await rename(tmp, file);
      await syncDir(path.dirname(path.resolve(file)));
    },
    async abort() {
      stream.destroy();
      await rm(tmp, { force: true });
    },
  };
}

/** A tar written to `file` through `file.tmp-<pid>`: fsynced, then renamed into place. */
export async function tarFileWriter(file: string): Promise<ArchiveWriter> {
  return new TarWriter(await fileTarget(file));
}

/** A tar streamed to stdout (not atomic: a failure leaves a truncated stream and an error). */
export function tarStdoutWriter(): ArchiveWriter {
  const noop = async () => undefined;
  return new TarWriter({ stream: process.stdout, end: false, commit: noop, abort: noop });
}

/** Writes members as files under `dir.tmp-<pid>`, renamed to `dir` on commit. */
class DirWriter implements ArchiveWriter {
  constructor(private readonly dir: string, private readonly tmp: string) {}

  private async file(name: string): Promise<string> {
    const f = path.join(this.tmp, name);
    await mkdir(path.dirname(f), { recursive: true });
    return f;
  }

  async add(name: string, data: Buffer): Promise<void> {
    await writeFile(await this.file(name), data, { flag: 'wx', flush: true });
  }

  async addStream(name: string, size: number, src: AsyncIterable<Buffer>): Promise<void> {
    const f = await this.file(name);
    await pipeline(src, createWriteStream(f, { flags: 'wx', flush: true }));
    const got = (await stat(f)).size;
    if (got !== size) throw new ImgError('INTERNAL', `${name}: wrote ${got} bytes, want ${size}`);
  }

  async commit(): Promise<void> {
    for (const sub of ['blobs/sha256', 'blobs', '']) await syncDir(path.join(this.tmp, sub));
    await rmdir(this.dir).catch(() => undefined); // an empty directory may be replaced; anything else makes rename fail
    await rename(this.tmp, this.dir).catch((err) => {
      throw new ImgError('ALREADY_EXISTS', `${this.dir}: ${messageOf(err)}`, { cause: err });
    });
    await syncDir(path.dirname(this.dir));
  }

  async abort(): Promise<void> {
    await rm(this.tmp, { recursive: true, force: true });
  }
}

/** An OCI layout directory at `dir`, which must be missing or empty. */
export async function dirWriter(dir: string): Promise<ArchiveWriter> {
  await checkParent(dir);
  const abs = path.resolve(dir);
  const st = await stat(abs).catch(() => undefined);
  if (st && !st.isDirectory()) throw new ImgError('ALREADY_EXISTS', `${dir}: exists and is not a directory`);
  if (st && (await readdir(abs)).length > 0) throw new ImgError('ALREADY_EXISTS', `${dir}: directory exists and is not empty`);
  const tmp = tmpName(abs);
  await mkdir(tmp).catch((err) => {
    throw new ImgError('UNAVAILABLE', `${dir}: ${messageOf(err)}`, { cause: err });
  });
  return new DirWriter(abs, tmp);
}
