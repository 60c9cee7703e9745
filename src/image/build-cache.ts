import type Database from 'better-sqlite3';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';

/** The parent of FROM scratch in the table. */
const SCRATCH = '';

/**
 * The build_cache table (migration 6): which image a build step made on which parent.
 * It is also where locally built images know their parent, as docker's do.
 */
export class BuildCache {
  private readonly q;

  constructor(db: Database.Database) {
    const s = (sql: string) => db.prepare(sql);
    this.q = {
      lookup: s('SELECT image_id FROM build_cache WHERE parent_id = ? AND step_key = ?').pluck(),
      record: s('INSERT OR REPLACE INTO build_cache (parent_id, step_key, image_id, created) VALUES (?, ?, ?, ?)'),
      parentOf: s("SELECT parent_id FROM build_cache WHERE image_id = ? AND parent_id != '' ORDER BY created DESC LIMIT 1").pluck(),
    };
  }

  /** The image a step with `key` made on `parent` (undefined: scratch), if it is still stored. */
  lookup(parent: Digest | undefined, key: string): Digest | undefined {
    return this.q.lookup.get(parent ?? SCRATCH, key) as Digest | undefined;
  }

  record(parent: Digest | undefined, key: string, image: Digest): void {
    this.q.record.run(parent ?? SCRATCH, key, image, new Date().toISOString());
  }

  /** The image `id` was built on, when a build here made it. */
  parentOf(id: Digest): Digest | undefined {
    return this.q.parentOf.get(id) as Digest | undefined;
  }
}

export const buildCache = (store: Store): BuildCache => new BuildCache(store.index.db);
