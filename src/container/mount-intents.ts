import type Database from 'better-sqlite3';

/** A mount the service keeps: what should be mounted where (migration 4). */
export interface MountIntent {
  dir: string;
  imageId: string;
  /** Undefined for a read-only mount of the image itself. */
  containerId?: string;
  readOnly: boolean;
  created: string;
}

type Row = Record<string, unknown>;

const toIntent = (r: Row): MountIntent => ({
  dir: r.dir as string, imageId: r.image_id as string, containerId: (r.container_id as string | null) ?? undefined,
  readOnly: r.read_only === 1, created: r.created as string,
});

/** The mounts table: removing a container or image drops its intent (ON DELETE CASCADE). */
export class MountIntents {
  private readonly q;

  constructor(db: Database.Database) {
    const s = (sql: string) => db.prepare(sql);
    this.q = {
      put: s(`INSERT INTO mounts (dir, image_id, container_id, read_only, created)
              VALUES (@dir, @imageId, @containerId, @readOnly, @created)`),
      all: s('SELECT * FROM mounts ORDER BY created, dir'),
      byDir: s('SELECT * FROM mounts WHERE dir = ?'),
      remove: s('DELETE FROM mounts WHERE dir = ?'),
    };
  }

  add(m: MountIntent): void {
    this.q.put.run({ ...m, containerId: m.containerId ?? null, readOnly: m.readOnly ? 1 : 0 });
  }

  list(): MountIntent[] {
    return (this.q.all.all() as Row[]).map(toIntent);
  }

  get(dir: string): MountIntent | undefined {
    const r = this.q.byDir.get(dir) as Row | undefined;
    return r && toIntent(r);
  }

  remove(dir: string): boolean {
    return this.q.remove.run(dir).changes > 0;
  }
}
