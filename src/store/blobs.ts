import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, readdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ImgError } from './errors.js';
import { hexOf, isDigest } from './digest.js';
import { syncDir } from './fsync.js';
import type { Digest } from './types.js';

export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** What a writer must match before its content is committed. */
export interface Expect {
  digest?: Digest;
  size?: number;
  /** Names the blob in errors (e.g. `layer 2 of manifest.json`). */
  what?: string;
}

/**
 * Streams bytes into a temp file while hashing them; commit() checks, fsyncs
 * and renames into place, so nothing half-written is ever visible.
 */
export class BlobWriter {
  private readonly hash: Hash = createHash('sha256');
  private size = 0;
  private fh: FileHandle | undefined;
  private done = false;

  constructor(
    private readonly store: BlobStore,
    private readonly tmp: string,
  ) {}

  /** Append a chunk; resolves once it is written. */
  async write(chunk: Buffer): Promise<void> {
    this.fh ??= await open(this.tmp, 'wx', 0o644);
    this.hash.update(chunk);
    this.size += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
  }

  /** Digest of the bytes written so far (the writer keeps hashing). */
  digest(): Digest {
    return `sha256:${this.hash.copy().digest('hex')}`;
  }

  /** Bytes written so far. */
  get written(): number {
    return this.size;
  }

  /** Verify against `expect`, fsync and move into place. Always closes the writer. */
  async commit(expect: Expect = {}): Promise<BlobInfo> {
    try {
      this.fh ??= await open(this.tmp, 'wx', 0o644);
      const digest: Digest = `sha256:${this.hash.digest('hex')}`;
      const what = expect.what ?? 'blob';
      if (expect.digest && expect.digest !== digest) {
        throw new ImgError('DIGEST_MISMATCH', `${what}: digest mismatch: want ${expect.digest}, got ${digest}`);
      }
      if (expect.size !== undefined && expect.size !== this.size) {
        throw new ImgError('DIGEST_MISMATCH', `${what}: size mismatch: want ${expect.size} bytes, got ${this.size}`);
      }
      await this.fh.sync();
      await this.fh.close();
      this.fh = undefined;
      const dest = this.store.pathOf(digest);
      await rename(this.tmp, dest);
      await this.store.syncDir();
      this.done = true;
      return { digest, size: this.size };
    } finally {
      await this.abort();
    }
  }

  /** Discard everything written. Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.fh) await this.fh.close().catch(() => undefined);
    this.fh = undefined;
    if (!this.done) await rm(this.tmp, { force: true });
    this.done = true;
  }
}

/** Content-addressed blobs under `<root>/blobs/sha256/<hex>`. */
export class BlobStore {
  readonly dir: string;
  readonly ingestDir: string;

  constructor(root: string) {
    this.dir = path.join(root, 'blobs', 'sha256');
    this.ingestDir = path.join(root, 'ingest');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await mkdir(this.ingestDir, { recursive: true });
  }

  pathOf(digest: Digest): string {
    return path.join(this.dir, hexOf(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    return stat(this.pathOf(digest)).then(() => true, () => false);
  }

  async size(digest: Digest): Promise<number> {
    try {
      return (await stat(this.pathOf(digest))).size;
    } catch {
      throw new ImgError('NOT_FOUND', `blob ${digest}: not in the store`);
    }
  }

  /** A writer whose temp file lives on the same filesystem as the blobs. */
  writer(): BlobWriter {
    return new BlobWriter(this, path.join(this.ingestDir, `${process.pid}-${randomUUID()}`));
  }

  /** Write a whole stream (or buffer) as one blob. */
  async put(src: Readable | AsyncIterable<Buffer> | Buffer, expect: Expect = {}): Promise<BlobInfo> {
    const w = this.writer();
    try {
      if (Buffer.isBuffer(src)) await w.write(src);
      else for await (const chunk of src) await w.write(chunk as Buffer);
      return await w.commit(expect);
    } catch (err) {
      await w.abort();
      throw err;
    }
  }

  /** A read stream over a blob, optionally a byte range [start, end). */
  open(digest: Digest, range?: { start: number; end: number }): ReadStream {
    // 1 MiB chunks: with the 64 KiB default, streaming a 200 MB layer out took twice as long.
    const opts = { highWaterMark: 1 << 20, ...(range ? { start: range.start, end: range.end - 1 } : {}) };
    return createReadStream(this.pathOf(digest), opts);
  }

  /** Rehash a stored blob; true when its content still matches its name. */
  async verify(digest: Digest): Promise<boolean> {
    const h = createHash('sha256');
    for await (const chunk of this.open(digest)) h.update(chunk as Buffer);
    return `sha256:${h.digest('hex')}` === digest;
  }

  async delete(digest: Digest): Promise<void> {
    await rm(this.pathOf(digest), { force: true });
  }

  /** Every stored digest. */
  async list(): Promise<Digest[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.map((n) => `sha256:${n}`).filter(isDigest) as Digest[];
  }

  /** Remove temp files left by writers that died (a killed load or pull). */
  async cleanIngest(): Promise<void> {
    const names = await readdir(this.ingestDir).catch(() => [] as string[]);
    for (const n of names) {
      const pid = Number(n.split('-')[0]);
      if (!pidAlive(pid)) await rm(path.join(this.ingestDir, n), { force: true, recursive: true });
    }
  }

  /** fsync the blob directory so a rename survives a crash. */
  async syncDir(): Promise<void> {
    await syncDir(this.dir);
  }
}

/** True when a process with this PID exists (EPERM: it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
