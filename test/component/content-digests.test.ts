// File content digests: absent after ingest and after the upgrade to migration 5, computed from
// the stored layer tars when a query first needs them, and kept.
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileDigests } from '../../src/image/content-digests.js';
import { diffImages } from '../../src/image/image-diff.js';
import { findPaths } from '../../src/image/find.js';
import { load } from '../../src/image/load.js';
import { QueryIndex } from '../../src/store/query-index.js';
import { Store } from '../../src/store/store.js';
import { dockerArchive, layerTar } from '../helpers/archives.js';
import { tempDir } from '../helpers/lamina.js';

const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const BIG = randomBytes(2_500_000); // larger than one read window (1 MiB)

let work: string;
let cleanup: () => Promise<void>;
let root: string;

beforeEach(async () => {
  ({ dir: work, cleanup } = await tempDir());
  root = path.join(work, 'store');
});
afterEach(async () => cleanup());

/** Two one-layer images: `same` and `copy` hold the same bytes; `v:2` changes `f` keeping its size. */
async function loadImages(store: Store): Promise<void> {
  const archive = path.join(work, 'a.tar');
  await dockerArchive(archive, [
    { tags: ['v:1'], layers: [await layerTar([
      { name: 'd/', type: 'directory' }, { name: 'd/same', content: 'same bytes\n' }, { name: 'copy', content: 'same bytes\n' },
      { name: 'big', content: BIG }, { name: 'empty', content: '' }, { name: 'link', type: 'link', linkname: 'copy' },
      { name: 'f', content: 'one\n' },
    ])] },
    { tags: ['v:2'], layers: [await layerTar([
      { name: 'd/', type: 'directory' }, { name: 'd/same', content: 'same bytes\n' }, { name: 'copy', content: 'same bytes\n' },
      { name: 'big', content: BIG }, { name: 'empty', content: '' }, { name: 'link', type: 'link', linkname: 'copy' },
      { name: 'f', content: 'two\n' },
    ])] },
  ]);
  await load(store, archive);
}

/** Containers' columns added by migration 7 (run specs and process state). */
const RUN_COLUMNS = ['spec', 'state', 'pid', 'monitor_pid', 'monitor_start', 'monitor_socket', 'exit_code', 'started_at', 'finished_at',
  'restart_count', 'stopped_by_user', 'error'];

/** Undo migrations 7, 6 and 5 on a store's index, as a store made before them looks. */
function downgrade(file: string): void {
  const db = new Database(file);
  db.exec(`${RUN_COLUMNS.map((c) => `ALTER TABLE containers DROP COLUMN ${c};`).join(' ')}
           DROP TABLE build_cache; DROP INDEX entries_content_digest; DROP INDEX view_entries_source; DROP TABLE layer_changes; DROP TABLE change_sets;
           ALTER TABLE entries DROP COLUMN content_digest; ALTER TABLE layers DROP COLUMN content_digests; PRAGMA user_version = 4;`);
  db.close();
}

describe('content digests', () => {
  it('a store from before migration 5 is upgraded; find --digest hashes each layer once, from the stored tar', async () => {
    let store = await Store.open(root);
    await loadImages(store);
    store.close();
    downgrade(path.join(root, 'index.db'));
    store = await Store.open(root);
    try {
      const told: number[][] = [];
      const found = await findPaths(store, { digest: sha('same bytes\n'), onHashing: (l, b) => told.push([l, b]) });
      expect(found.map((f) => `${f.image} ${f.path}`)).toEqual(['v:2 /copy', 'v:2 /d/same', 'v:2 /link', 'v:1 /copy', 'v:1 /d/same', 'v:1 /link']);
      expect(told).toEqual([[2, 2 * (2 * 11 + BIG.length + 4)]]);
      const q = new QueryIndex(store.index.db);
      for (const id of store.index.images().map((i) => i.id)) {
        const [layer] = store.index.imageLayers(id);
        expect(q.layerHashed(layer!.diffId)).toBe(true);
        expect([q.digestOf(layer!.diffId, 'big'), q.digestOf(layer!.diffId, 'empty')]).toEqual([sha(BIG), sha('')]);
        expect(q.digestOf(layer!.diffId, 'link')).toBeUndefined(); // a hardlink's bytes are its target's
      }
      expect(await findPaths(store, { digest: sha(BIG).slice(7), onHashing: () => told.push([]) })).toHaveLength(2);
      expect(told).toHaveLength(1); // nothing left to hash
    } finally {
      store.close();
    }
  });

  it('diff hashes only the files it must compare; fileDigests keeps what it computed', async () => {
    const store = await Store.open(root);
    try {
      await loadImages(store);
      const q = new QueryIndex(store.index.db);
      const [l1, l2] = ['v:1', 'v:2'].map((t) => store.index.imageLayers(store.index.tagTarget(`docker.io/library/${t}`)!)[0]!.diffId);
      // same size, mode, owner and mtime: only the bytes tell f apart
      expect(await diffImages(store, 'v:1', 'v:2')).toEqual([{ kind: 'C', path: '/f' }]);
      expect(q.digestOf(l1!, 'f')).toBe(sha('one\n'));
      expect(q.layerHashed(l1!)).toBe(false);
      const got = await fileDigests(store, q, [{ diffId: l2!, path: 'empty' }, { diffId: l2!, path: 'big' }, { diffId: l2!, path: 'big' }]);
      expect([...got.values()]).toEqual([sha(''), sha(BIG)]);
      expect(q.digestOf(l2!, 'empty')).toBe(sha(''));
    } finally {
      store.close();
    }
  });
});
