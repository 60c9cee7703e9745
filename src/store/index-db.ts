import Database from 'better-sqlite3';
import { migrate } from './migrations.js';
import type { Compression, Digest, LayerEntry } from './types.js';

export interface LayerBlobRecord {
  digest: Digest;
  diffId: Digest;
  size: number;
  mediaType: string;
  compression: Compression;
}

export interface ImageRecord {
  id: Digest;
  manifestDigest: Digest;
  manifestMediaType: string;
  created?: string;
  architecture?: string;
  os?: string;
  size: number;
  addedAt: number;
}

export interface ImageLayerRecord {
  position: number;
  diffId: Digest;
  blobDigest: Digest;
}

/** A layer as ingested: its record, the compressed blob it came as, and its entries. */
export interface NewLayer {
  diffId: Digest;
  size: number;
  blob?: LayerBlobRecord;
  entries: LayerEntry[];
}

/** Everything one image adds to the index, written in one transaction. */
export interface NewImage {
  image: ImageRecord;
  layers: ImageLayerRecord[];
  newLayers: NewLayer[];
  tags: string[];
  repoDigests?: string[];
}

/** A foreign key of the schema that some rows break, as PRAGMA foreign_key_list describes it. */
export interface BrokenForeignKey {
  child: string;
  columns: string[];
  parent: string;
  /** The parent's columns, in the order of `columns`. */
  keys: string[];
  /** ON DELETE CASCADE: deleting the parent row would have deleted the child rows too. */
  cascade: boolean;
}

type Row = Record<string, unknown>;

function prepare(db: Database.Database) {
  const s = (sql: string) => db.prepare(sql);
  return {
    hasLayer: s('SELECT 1 FROM layers WHERE diff_id = ?').pluck(),
    insertLayer: s('INSERT OR IGNORE INTO layers (diff_id, size, entry_count, added_at) VALUES (?, ?, ?, ?)'),
    insertBlob: s(`INSERT OR IGNORE INTO layer_blobs (digest, diff_id, size, media_type, compression)
                   VALUES (@digest, @diffId, @size, @mediaType, @compression)`),
    insertEntry: s(`INSERT OR REPLACE INTO entries (diff_id, path, type, mode, uid, gid, size, mtime_sec, mtime_nsec,
                    linkname, devmajor, devminor, xattrs, whiteout, opaque, data_offset)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    blobsOfLayer: s('SELECT * FROM layer_blobs WHERE diff_id = ?'),
    blobByDigest: s('SELECT * FROM layer_blobs WHERE digest = ?'),
    layerSize: s('SELECT size FROM layers WHERE diff_id = ?').pluck(),
    entriesOf: s('SELECT * FROM entries WHERE diff_id = ? ORDER BY path'),
    insertImage: s(`INSERT INTO images (id, manifest_digest, manifest_media_type, created, architecture, os, size, added_at)
                    VALUES (@id, @manifestDigest, @manifestMediaType, @created, @architecture, @os, @size, @addedAt)`),
    insertImageLayer: s('INSERT INTO image_layers (image_id, position, diff_id, blob_digest) VALUES (?, ?, ?, ?)'),
    image: s('SELECT * FROM images WHERE id = ?'),
    images: s('SELECT * FROM images ORDER BY added_at DESC'),
    imagesByPrefix: s("SELECT id FROM images WHERE id >= ? AND id < ? || 'g'").pluck(),
    imageLayers: s('SELECT position, diff_id, blob_digest FROM image_layers WHERE image_id = ? ORDER BY position'),
    allImageLayers: s(`SELECT il.image_id, il.diff_id, l.size FROM images i JOIN image_layers il ON il.image_id = i.id
                       LEFT JOIN layers l ON l.diff_id = il.diff_id ORDER BY il.image_id, il.position`),
    tag: s('INSERT OR REPLACE INTO tags (name, image_id, tagged_at) VALUES (?, ?, ?)'),
    untag: s('DELETE FROM tags WHERE name = ?'),
    tagTarget: s('SELECT image_id FROM tags WHERE name = ?').pluck(),
    tagsOf: s('SELECT name FROM tags WHERE image_id = ? ORDER BY tagged_at, name').pluck(),
    allTags: s('SELECT name, image_id FROM tags ORDER BY name'),
    addRepoDigest: s('INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?, ?)'),
    removeRepoDigest: s('DELETE FROM repo_digests WHERE name = ?'),
    repoDigestTarget: s('SELECT image_id FROM repo_digests WHERE name = ?').pluck(),
    repoDigestsOf: s('SELECT name FROM repo_digests WHERE image_id = ? ORDER BY name').pluck(),
    containersOf: s('SELECT id FROM containers WHERE image_id = ? ORDER BY created').pluck(),
    deleteImage: s('DELETE FROM images WHERE id = ?'),
    unusedLayers: s('SELECT diff_id FROM layers WHERE diff_id NOT IN (SELECT diff_id FROM image_layers) ORDER BY diff_id').pluck(),
    deleteLayer: s('DELETE FROM layers WHERE diff_id = ?'),
    deleteEntries: s('DELETE FROM entries WHERE diff_id = ?'),
    manifestDigests: s('SELECT manifest_digest FROM images').pluck(),
    counts: s(`SELECT (SELECT count(*) FROM images) AS images, (SELECT count(*) FROM layers) AS layers,
               (SELECT coalesce(sum(size), 0) FROM images) AS imageBytes,
               (SELECT coalesce(sum(size), 0) FROM layers) AS layerBytes`),
    layerDigests: s('SELECT diff_id FROM layers UNION SELECT digest FROM layer_blobs').pluck(),
    // foreign_key_check finds the broken keys (whatever the table, and without rowids for WITHOUT
    // ROWID tables); foreign_key_list says which columns they are. In schema, then declaration, order.
    brokenForeignKeys: s(`SELECT v."table" AS child, v.fkid, f."from" AS col, f."table" AS parent, f.on_delete,
      coalesce(f."to", (SELECT name FROM pragma_table_info(f."table") WHERE pk = f.seq + 1)) AS "key"
      FROM (SELECT DISTINCT "table", fkid FROM pragma_foreign_key_check()) v
      JOIN pragma_foreign_key_list(v."table") f ON f.id = v.fkid
      ORDER BY (SELECT rowid FROM sqlite_schema WHERE name = v."table"), v.fkid DESC, f.seq`),
  };
}

const toImage = (r: Row): ImageRecord => ({
  id: r.id as Digest,
  manifestDigest: r.manifest_digest as Digest,
  manifestMediaType: r.manifest_media_type as string,
  created: (r.created as string | null) ?? undefined,
  architecture: (r.architecture as string | null) ?? undefined,
  os: (r.os as string | null) ?? undefined,
  size: r.size as number,
  addedAt: r.added_at as number,
});

const toBlob = (r: Row): LayerBlobRecord => ({
  digest: r.digest as Digest,
  diffId: r.diff_id as Digest,
  size: r.size as number,
  mediaType: r.media_type as string,
  compression: r.compression as Compression,
});

export function encodeXattrs(x: Record<string, Buffer> | undefined): string | null {
  if (!x || Object.keys(x).length === 0) return null;
  return JSON.stringify(Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v.toString('base64')])));
}

export function decodeXattrs(s: unknown): Record<string, Buffer> | undefined {
  if (typeof s !== 'string') return undefined;
  const o = JSON.parse(s) as Record<string, string>;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}

export const toEntry = (r: Row): LayerEntry => ({
  path: r.path as string,
  type: r.type as LayerEntry['type'],
  mode: r.mode as number,
  uid: r.uid as number,
  gid: r.gid as number,
  size: r.size as number,
  mtimeSec: r.mtime_sec as number,
  mtimeNsec: r.mtime_nsec as number,
  linkname: (r.linkname as string | null) ?? undefined,
  devmajor: (r.devmajor as number | null) ?? undefined,
  devminor: (r.devminor as number | null) ?? undefined,
  xattrs: decodeXattrs(r.xattrs),
  whiteout: r.whiteout === 1,
  opaque: r.opaque === 1,
  offset: r.data_offset as number,
});

/** The SQLite layer index: layers, entries, images, tags. */
export class LayerIndex {
  readonly db: Database.Database;
  private readonly q: ReturnType<typeof prepare>;
  /** Write one image, its new layers and tags atomically. */
  readonly putImage: (img: NewImage) => void;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('busy_timeout = 10000'); // first, so later statements wait on locks
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    migrate(this.db);
    this.q = prepare(this.db);
    this.putImage = this.db.transaction((img: NewImage) => this.writeImage(img));
  }

  close(): void {
    this.db.close();
  }

  /** Run `fn` in one write transaction (synchronous: no await inside). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private writeImage({ image, layers, newLayers, tags, repoDigests }: NewImage): void {
    const now = Date.now();
    for (const l of newLayers) this.writeLayer(l, now);
    // An image already present keeps its rows (and its tags, views and containers); only names are added.
    if (!this.q.image.get(image.id)) {
      this.q.insertImage.run({ ...image, created: image.created ?? null, architecture: image.architecture ?? null, os: image.os ?? null });
      for (const l of layers) this.q.insertImageLayer.run(image.id, l.position, l.diffId, l.blobDigest);
    }
    for (const t of tags) this.q.tag.run(t, image.id, now);
    for (const d of repoDigests ?? []) this.q.addRepoDigest.run(d, image.id);
  }

  private writeLayer(l: NewLayer, now: number): void {
    if (!this.q.hasLayer.get(l.diffId)) {
      this.q.insertLayer.run(l.diffId, l.size, l.entries.length, now);
      for (const e of l.entries) {
        this.q.insertEntry.run(l.diffId, e.path, e.type, e.mode, e.uid, e.gid, e.size, e.mtimeSec, e.mtimeNsec,
          e.linkname ?? null, e.devmajor ?? null, e.devminor ?? null, encodeXattrs(e.xattrs),
          e.whiteout ? 1 : 0, e.opaque ? 1 : 0, e.offset);
      }
    }
    if (l.blob) this.q.insertBlob.run(l.blob);
  }

  hasLayer(diffId: Digest): boolean {
    return this.q.hasLayer.get(diffId) !== undefined;
  }

  layerSize(diffId: Digest): number | undefined {
    return this.q.layerSize.get(diffId) as number | undefined;
  }

  blobsOfLayer(diffId: Digest): LayerBlobRecord[] {
    return (this.q.blobsOfLayer.all(diffId) as Row[]).map(toBlob);
  }

  blobByDigest(digest: Digest): LayerBlobRecord | undefined {
    const r = this.q.blobByDigest.get(digest) as Row | undefined;
    return r && toBlob(r);
  }

  entries(diffId: Digest): LayerEntry[] {
    return (this.q.entriesOf.all(diffId) as Row[]).map(toEntry);
  }

  image(id: Digest): ImageRecord | undefined {
    const r = this.q.image.get(id) as Row | undefined;
    return r && toImage(r);
  }

  images(): ImageRecord[] {
    return (this.q.images.all() as Row[]).map(toImage);
  }

  /** Image IDs starting with `prefix` (a `sha256:` + hex prefix). */
  imagesByPrefix(prefix: string): Digest[] {
    return this.q.imagesByPrefix.all(prefix, prefix) as Digest[];
  }

  imageLayers(id: Digest): ImageLayerRecord[] {
    return (this.q.imageLayers.all(id) as Row[]).map((r) => ({
      position: r.position as number,
      diffId: r.diff_id as Digest,
      blobDigest: r.blob_digest as Digest,
    }));
  }

  /** The layers of every image, with each layer's size (undefined if the layer has no row). */
  allImageLayers(): Array<{ imageId: Digest; diffId: Digest; size?: number }> {
    return (this.q.allImageLayers.all() as Row[]).map((r) => ({
      imageId: r.image_id as Digest, diffId: r.diff_id as Digest, size: (r.size as number | null) ?? undefined,
    }));
  }

  tag(name: string, id: Digest): void {
    this.q.tag.run(name, id, Date.now());
  }

  untag(name: string): boolean {
    return this.q.untag.run(name).changes > 0;
  }

  tagTarget(name: string): Digest | undefined {
    return this.q.tagTarget.get(name) as Digest | undefined;
  }

  tagsOf(id: Digest): string[] {
    return this.q.tagsOf.all(id) as string[];
  }

  allTags(): Array<{ name: string; imageId: Digest }> {
    return (this.q.allTags.all() as Row[]).map((r) => ({ name: r.name as string, imageId: r.image_id as Digest }));
  }

  addRepoDigest(name: string, id: Digest): void {
    this.q.addRepoDigest.run(name, id);
  }

  removeRepoDigest(name: string): boolean {
    return this.q.removeRepoDigest.run(name).changes > 0;
  }

  repoDigestTarget(name: string): Digest | undefined {
    return this.q.repoDigestTarget.get(name) as Digest | undefined;
  }

  repoDigestsOf(id: Digest): string[] {
    return this.q.repoDigestsOf.all(id) as string[];
  }

  /**
   * IDs of the containers created from image `id`, oldest first. container/ owns the containers
   * table; image/ asks only this, since a used image must not be deleted.
   */
  containersOf(id: Digest): string[] {
    return this.q.containersOf.all(id) as string[];
  }

  /** Delete an image row (tags, repo digests and layer order cascade). */
  deleteImage(id: Digest): void {
    this.q.deleteImage.run(id);
  }

  /** Layers no image uses, by diff ID. */
  unusedLayers(): Digest[] {
    return this.q.unusedLayers.all() as Digest[];
  }

  /** Delete a layer's rows: entries, compressed blobs (cascade) and the layer itself. */
  deleteLayer(diffId: Digest): void {
    this.q.deleteEntries.run(diffId);
    this.q.deleteLayer.run(diffId);
  }

  /** Delete layers no image uses; returns their diff IDs and compressed blob digests. */
  deleteUnusedLayers(): { diffIds: Digest[]; blobs: Digest[] } {
    const diffIds = this.unusedLayers();
    const blobs: Digest[] = [];
    for (const d of diffIds) {
      for (const b of this.blobsOfLayer(d)) blobs.push(b.digest);
      this.deleteLayer(d);
    }
    return { diffIds, blobs };
  }

  /** Foreign keys that rows break (written with foreign_keys off, or by a crash of an older lamina). */
  brokenForeignKeys(): BrokenForeignKey[] {
    const byKey = new Map<string, BrokenForeignKey>();
    for (const r of this.q.brokenForeignKeys.all() as Row[]) {
      const id = `${r.child as string}\0${r.fkid as number}`;
      const fk = byKey.get(id) ?? byKey.set(id, {
        child: r.child as string, columns: [], parent: r.parent as string, keys: [], cascade: r.on_delete === 'CASCADE',
      }).get(id)!;
      fk.columns.push(r.col as string);
      fk.keys.push(r.key as string);
    }
    return [...byKey.values()];
  }

  /** Every blob digest the index refers to (layer tars, compressed layers, configs, manifests). */
  referencedBlobs(): Set<Digest> {
    const set = new Set<Digest>(this.q.layerDigests.all() as Digest[]);
    for (const img of this.images()) set.add(img.id);
    for (const m of this.q.manifestDigests.all() as Digest[]) set.add(m);
    return set;
  }

  counts(): { images: number; layers: number; imageBytes: number; layerBytes: number } {
    return this.q.counts.get() as { images: number; layers: number; imageBytes: number; layerBytes: number };
  }
}
