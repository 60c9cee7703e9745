import type Database from 'better-sqlite3';
import type { Digest } from '../store/types.js';

/** One container: an image plus a writable layer directory. */
export interface ContainerRecord {
  id: string;
  name: string;
  imageId: Digest;
  /** The image name it was created from, as given (docker's IMAGE column). */
  imageRef: string;
  created: string;
  upperDir: string;
  workDir: string;
  mountedAt?: string;
}

type Row = Record<string, unknown>;

const toRecord = (r: Row): ContainerRecord => ({
  id: r.id as string, name: r.name as string, imageId: r.image_id as Digest, imageRef: r.image_ref as string,
  created: r.created as string, upperDir: r.upper_dir as string, workDir: r.work_dir as string,
  mountedAt: (r.mounted_at as string | null) ?? undefined,
});

/** The containers table (migration 3). */
export class ContainerIndex {
  private readonly q;

  constructor(db: Database.Database) {
    const s = (sql: string) => db.prepare(sql);
    this.q = {
      insert: s(`INSERT INTO containers (id, name, image_id, image_ref, created, upper_dir, work_dir, mounted_at)
                 VALUES (@id, @name, @imageId, @imageRef, @created, @upperDir, @workDir, NULL)`),
      all: s('SELECT * FROM containers ORDER BY created DESC, id'),
      byId: s('SELECT * FROM containers WHERE id = ?'),
      byName: s('SELECT * FROM containers WHERE name = ?'),
      byPrefix: s("SELECT * FROM containers WHERE id >= ? AND id < ? || 'g'"),
      byMount: s('SELECT * FROM containers WHERE mounted_at = ?'),
      ofImage: s('SELECT * FROM containers WHERE image_id = ? ORDER BY created'),
      setMount: s('UPDATE containers SET mounted_at = ? WHERE id = ?'),
      remove: s('DELETE FROM containers WHERE id = ?'),
    };
  }

  add(c: Omit<ContainerRecord, 'mountedAt'>): void {
    this.q.insert.run(c);
  }

  list(): ContainerRecord[] {
    return (this.q.all.all() as Row[]).map(toRecord);
  }

  /** By full ID, exact name, or unique ID prefix (docker's order). */
  find(s: string): ContainerRecord[] {
    const exact = (this.q.byId.get(s) ?? this.q.byName.get(s)) as Row | undefined;
    if (exact) return [toRecord(exact)];
    return /^[0-9a-f]+$/.test(s) ? (this.q.byPrefix.all(s, s) as Row[]).map(toRecord) : [];
  }

  byMount(dir: string): ContainerRecord | undefined {
    const r = this.q.byMount.get(dir) as Row | undefined;
    return r && toRecord(r);
  }

  ofImage(imageId: Digest): ContainerRecord[] {
    return (this.q.ofImage.all(imageId) as Row[]).map(toRecord);
  }

  setMount(id: string, dir: string | undefined): void {
    this.q.setMount.run(dir ?? null, id);
  }

  remove(id: string): boolean {
    return this.q.remove.run(id).changes > 0;
  }
}
