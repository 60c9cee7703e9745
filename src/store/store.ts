import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { BlobStore } from './blobs.js';
import { LayerIndex } from './index-db.js';
import type { Digest } from './types.js';

/** One content-addressed blob store and one SQLite index under one root. */
export class Store {
  private constructor(
    readonly root: string,
    readonly blobs: BlobStore,
    readonly index: LayerIndex,
  ) {}

  static async open(root: string): Promise<Store> {
    await mkdir(root, { recursive: true, mode: 0o700 });
    const blobs = new BlobStore(root);
    await blobs.init();
    await blobs.cleanIngest();
    return new Store(root, blobs, new LayerIndex(path.join(root, 'index.db')));
  }

  close(): void {
    this.index.close();
  }

  /**
   * A private blob store for one operation: blobs land in the real store only
   * when publish() is called, just before the index transaction that uses them,
   * so a killed load or pull leaves nothing visible.
   */
  async staging(): Promise<Staging> {
    const dir = path.join(this.blobs.ingestDir, `${process.pid}-stage-${randomUUID()}`);
    const blobs = new BlobStore(dir);
    await blobs.init();
    return new Staging(this.blobs, blobs, dir);
  }
}

export class Staging {
  constructor(
    private readonly target: BlobStore,
    readonly blobs: BlobStore,
    private readonly dir: string,
  ) {}

  /** Move every staged blob into the store (renames on one filesystem), then fsync. */
  async publish(): Promise<Digest[]> {
    const staged = await this.blobs.list();
    for (const d of staged) await rename(this.blobs.pathOf(d), this.target.pathOf(d));
    if (staged.length) await this.target.syncDir();
    return staged;
  }

  async discard(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** True when a digest is staged here or already stored. */
  async has(d: Digest): Promise<boolean> {
    return (await this.blobs.has(d)) || (await this.target.has(d));
  }

  async names(): Promise<string[]> {
    return readdir(this.blobs.dir);
  }
}
