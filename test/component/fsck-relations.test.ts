// fsck finds rows that point at nothing through SQLite's own foreign_key_check, so every key
// of the schema is checked; these tests keep its messages in step with the schema.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RELATIONS } from '../../src/image/fsck-index.js';
import { LayerIndex } from '../../src/store/index-db.js';

let index: LayerIndex;
beforeEach(() => {
  index = new LayerIndex(':memory:');
});
afterEach(() => index.close());

describe('fsck and the schema', () => {
  it('names the rows of every foreign key the migrations declare, and of no other', () => {
    const keys = index.db.prepare(`SELECT m.name || '.' || f."from" FROM sqlite_schema m JOIN pragma_foreign_key_list(m.name) f
      WHERE m.type = 'table' ORDER BY 1`).pluck().all();
    expect(keys.length).toBeGreaterThan(10);
    expect(Object.keys(RELATIONS).sort()).toEqual(keys);
  });

  it('brokenForeignKeys reports each broken key once, WITHOUT ROWID tables too, with its ON DELETE action', () => {
    expect(index.brokenForeignKeys()).toEqual([]);
    const ghost = `sha256:${'e'.repeat(64)}`;
    index.db.pragma('foreign_keys = OFF');
    index.db.exec(`INSERT INTO view_entries (image_id, path, parent, name, ino, nlink) VALUES ('${ghost}', '', '', '', 1, 2), ('${ghost}', 'a', '', 'a', 2, 1);
      INSERT INTO containers (id, name, image_id, image_ref, created, upper_dir, work_dir) VALUES ('c1', 'c1', '${ghost}', 'x', '', '/u', '/w');
      INSERT INTO mounts (dir, image_id, container_id, read_only, created) VALUES ('/m', '${ghost}', 'nope', 1, '');`);
    expect(index.brokenForeignKeys()).toEqual([
      { child: 'view_entries', columns: ['image_id'], parent: 'views', keys: ['image_id'], cascade: true },
      { child: 'containers', columns: ['image_id'], parent: 'images', keys: ['id'], cascade: false },
      { child: 'mounts', columns: ['image_id'], parent: 'images', keys: ['id'], cascade: true },
      { child: 'mounts', columns: ['container_id'], parent: 'containers', keys: ['id'], cascade: true },
    ]);
  });
});
