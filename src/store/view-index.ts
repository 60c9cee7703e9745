import type Database from 'better-sqlite3';
import { toEntry } from './index-db.js';
import type { Digest, LayerEntry } from './types.js';

/** One row of an image's stored merged view. */
export interface ViewRow {
  path: string;
  diffId?: Digest;
  ino: number;
  nlink: number;
  /** The layer entry; undefined for implicit directories. */
  entry?: LayerEntry;
}

/** What putView stores for each merged path. */
export interface NewViewRow {
  path: string;
  diffId?: Digest;
  sourcePath?: string;
  ino: number;
  nlink: number;
}

type Row = Record<string, unknown>;

/** The merged views of images as rows (migration 2), written once per image; lamina's index queries (find, image diff) read them. */
export class ViewIndex {
  private readonly q;

  constructor(private readonly db: Database.Database) {
    const s = (sql: string) => db.prepare(sql);
    this.q = {
      view: s('SELECT entry_count, file_bytes FROM views WHERE image_id = ?'),
      insertView: s('INSERT INTO views (image_id, entry_count, file_bytes) VALUES (?, ?, ?)'),
      insertRow: s(`INSERT INTO view_entries (image_id, path, parent, name, diff_id, source_path, ino, nlink)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      // One probe: the view row and its layer entry together.
      row: s(`SELECT v.path AS view_path, v.diff_id AS view_diff_id, v.ino, v.nlink, e.*
              FROM view_entries v LEFT JOIN entries e ON e.diff_id = v.diff_id AND e.path = v.source_path
              WHERE v.image_id = ? AND v.path = ?`),
      children: s('SELECT name FROM view_entries WHERE image_id = ? AND parent = ? AND path != \'\' ORDER BY name').pluck(),
    };
  }

  stats(imageId: Digest): { entries: number; bytes: number } | undefined {
    const r = this.q.view.get(imageId) as Row | undefined;
    return r && { entries: r.entry_count as number, bytes: r.file_bytes as number };
  }

  /** Store an image's merged view in one transaction (no-op when it exists). */
  putView(imageId: Digest, rows: Iterable<NewViewRow>, fileBytes: number): void {
    this.db.transaction(() => {
      if (this.stats(imageId)) return;
      let n = 0;
      this.q.insertView.run(imageId, 0, fileBytes);
      for (const r of rows) {
        const slash = r.path.lastIndexOf('/');
        const parent = slash < 0 ? '' : r.path.slice(0, slash);
        this.q.insertRow.run(imageId, r.path, parent, r.path.slice(slash + 1), r.diffId ?? null, r.sourcePath ?? null, r.ino, r.nlink);
        n++;
      }
      this.db.prepare('UPDATE views SET entry_count = ? WHERE image_id = ?').run(n, imageId);
    }).immediate();
  }

  row(imageId: Digest, path: string): ViewRow | undefined {
    const r = this.q.row.get(imageId, path) as Row | undefined;
    if (!r) return undefined;
    const hasEntry = r.path !== null && r.path !== undefined;
    return {
      path: r.view_path as string,
      diffId: (r.view_diff_id as Digest | null) ?? undefined,
      ino: r.ino as number,
      nlink: r.nlink as number,
      entry: hasEntry ? toEntry(r) : undefined,
    };
  }

  children(imageId: Digest, path: string): string[] {
    return this.q.children.all(imageId, path) as string[];
  }
}
