import { open } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { imageView } from '../../src/image/image-view.js';
import { load } from '../../src/image/load.js';
import { Store } from '../../src/store/store.js';
import type { Node } from '../../src/union/view.js';
import { dockerArchive, layerTar } from '../helpers/archives.js';
import { tempDir } from '../helpers/lamina.js';

let work: string;
let cleanup: () => Promise<void>;
let store: Store;

beforeEach(async () => {
  ({ dir: work, cleanup } = await tempDir());
  store = await Store.open(path.join(work, 'store'));
});
afterEach(async () => {
  store.close();
  await cleanup();
});

async function contentOf(n: Node | undefined): Promise<string | undefined> {
  if (!n?.data) return undefined;
  const fh = await open(n.data.file, 'r');
  try {
    const buf = Buffer.alloc(n.size);
    await fh.read(buf, 0, n.size, n.data.offset);
    return buf.toString();
  } finally {
    await fh.close();
  }
}

describe('image view from the index', () => {
  it('applies whiteouts, opaque dirs and hardlinks, serving data from the layer tars', async () => {
    const archive = path.join(work, 'a.tar');
    await dockerArchive(archive, [{
      tags: ['v:1'],
      layers: [
        await layerTar([
          { name: 'etc/', type: 'directory' }, { name: 'etc/keep', content: 'keep-1' }, { name: 'etc/gone', content: 'x' },
          { name: 'opq/', type: 'directory' }, { name: 'opq/old', content: 'old' },
          { name: 'data', content: 'shared' }, { name: 'data-link', type: 'link', linkname: 'data' },
        ]),
        await layerTar([
          { name: 'etc/', type: 'directory' }, { name: 'etc/.wh.gone' }, { name: 'etc/new', content: 'new-2' },
          { name: 'opq/', type: 'directory' }, { name: 'opq/.wh..wh..opq' }, { name: 'opq/fresh', content: 'fresh' },
        ]),
      ],
    }]);
    const [img] = await load(store, archive);
    const view = imageView(store, img!.id);
    expect(view.readdir('/')).toEqual(['data', 'data-link', 'etc', 'opq']);
    expect(view.readdir('/etc')).toEqual(['keep', 'new']);
    expect(view.readdir('/opq')).toEqual(['fresh']);
    expect(view.lookup('/etc/gone')).toBeUndefined();
    expect(await contentOf(view.lookup('/etc/keep'))).toBe('keep-1');
    expect(await contentOf(view.lookup('/etc/new'))).toBe('new-2');
    const [a, b] = [view.lookup('/data')!, view.lookup('/data-link')!];
    expect(a.ino).toBe(b.ino);
    expect([a.nlink, b.nlink]).toEqual([2, 2]);
    expect(await contentOf(b)).toBe('shared');
    expect(view.lookup('/')).toMatchObject({ ino: 1, type: 'dir' });
    expect(view.stats().files).toBe(8); // root + 7 paths
  });

  it('stores the view once and reuses it on the next mount', async () => {
    const archive = path.join(work, 'b.tar');
    await dockerArchive(archive, [{ tags: ['v:1'], layers: [await layerTar([{ name: 'f', content: 'x' }])] }]);
    const [img] = await load(store, archive);
    imageView(store, img!.id);
    const rows = () => store.index.db.prepare('SELECT count(*) FROM view_entries').pluck().get();
    expect(rows()).toBe(2);
    const again = imageView(store, img!.id);
    expect(rows()).toBe(2);
    expect(again.lookup('/f')?.size).toBe(1);
  });
});
