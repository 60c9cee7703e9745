import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainId, ensureViewFile, imageView } from '../../src/image/image-view.js';
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
    expect(view.stats().files).toBe(7); // root + 7 paths, the two names of data sharing one inode
  });

  it('writes the view file once, keyed by the layer chain, and reuses it', async () => {
    const archive = path.join(work, 'b.tar');
    await dockerArchive(archive, [{ tags: ['v:1'], layers: [await layerTar([{ name: 'f', content: 'x' }])] }]);
    const [img] = await load(store, archive);
    const file = ensureViewFile(store, img!.id);
    const layers = store.index.imageLayers(img!.id).map((l) => l.diffId);
    expect(path.basename(file)).toBe(`${chainId(layers).slice(7)}.v1`);
    const first = await stat(file);
    await sleep(20);
    expect(ensureViewFile(store, img!.id)).toBe(file);
    expect((await stat(file)).mtimeMs).toBe(first.mtimeMs);
    expect(imageView(store, img!.id).lookup('/f')?.size).toBe(1);
    expect((await readdir(path.dirname(file))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
