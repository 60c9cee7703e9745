// lamina fsck [--repair] on a real store: a corrupted blob, missing blobs, rows that point at
// nothing, a damaged view and a container without its directories. fsck reports each one,
// --repair fixes what it can, and afterwards everything that worked still works.
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { imageView } from '../../src/image/image-view.js';
import { Store } from '../../src/store/store.js';
import { buildOciLayout } from '../helpers/images.js';
import { lamina, laminaOk, tempDir } from '../helpers/lamina.js';

let work: string;
let cleanup: () => Promise<void>;
let layout: string;
let root: string;
let n = 0;
let id: string;
/** Per layer, bottom first: the layer tar's digest and the gzip blob's. */
let layers: Array<{ diffId: string; digest: string }>;

const blob = (d: string) => path.join(root, 'blobs/sha256', d.slice(7));
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const fsckCli = (...args: string[]) => lamina(root, ['fsck', ...args]);

/** The index as a user could see it, and every blob's name and content hash. */
async function storeState(): Promise<string> {
  const db = new Database(path.join(root, 'index.db'), { readonly: true });
  try {
    const tables = ['layers', 'layer_blobs', 'entries', 'images', 'image_layers', 'tags', 'repo_digests', 'containers', 'mounts',
      'views', 'view_entries', 'change_sets', 'layer_changes', 'build_cache'];
    const rows = tables.map((t) => JSON.stringify(db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all()));
    const files = async (dir: string) => {
      const names = (await readdir(path.join(root, dir)).catch(() => [] as string[])).sort();
      return Promise.all(names.map(async (b) => `${b}=${sha(await readFile(path.join(root, dir, b)))}`));
    };
    return JSON.stringify({ rows, blobs: await files('blobs/sha256'), views: await files('views') });
  } finally {
    db.close();
  }
}

function rowCount(table: string): number {
  const db = new Database(path.join(root, 'index.db'), { readonly: true });
  try {
    return db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Run SQL with foreign keys off, as a crash or an older lamina might have left the index. */
function sql(statements: string): void {
  const db = new Database(path.join(root, 'index.db'));
  db.pragma('foreign_keys = OFF');
  db.exec(statements);
  db.close();
}

beforeAll(async () => {
  ({ dir: work, cleanup } = await tempDir('lamina-fsck-'));
  layout = path.join(work, 'layout');
  await buildOciLayout(layout, [
    async (r) => writeFile(path.join(r, 'base.txt'), 'base\n'.repeat(1000)),
    async (r) => writeFile(path.join(r, 'top.txt'), 'top\n'.repeat(1000)),
  ]);
}, 120_000);
afterAll(async () => cleanup?.());
beforeEach(async () => {
  root = path.join(work, `store-${++n}`);
  id = /sha256:[0-9a-f]{64}/.exec(await laminaOk(root, ['load', '-i', layout]))![0];
  await laminaOk(root, ['tag', id, 'fsck.test/image:1']);
  const info = JSON.parse(await laminaOk(root, ['inspect', id]))[0];
  layers = info.LayerBlobs.map((l: { DiffID: string; Digest: string }) => ({ diffId: l.DiffID, digest: l.Digest }));
}, 60_000);

const HEALTHY = 'checked 6 blobs, 2 layers, 1 image, 0 containers: no problems\n';

describe('lamina fsck', () => {
  it('finds nothing wrong with a healthy store, and --repair changes nothing', async () => {
    const before = await storeState();
    expect(await fsckCli()).toMatchObject({ code: 0, stdout: HEALTHY, stderr: '' });
    expect(await fsckCli('--repair')).toMatchObject({ code: 0, stdout: HEALTHY });
    expect(await storeState()).toBe(before);
  });

  it('finds a corrupted layer tar, and --repair rebuilds it from the compressed blob', async () => {
    const before = await storeState();
    const victim = blob(layers[0]!.diffId);
    const bytes = await readFile(victim);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await writeFile(victim, bytes);
    expect(await fsckCli()).toMatchObject({ code: 1, stdout: [
      `blob ${layers[0]!.diffId}: content does not match its digest (--repair: removed it)`,
      'checked 6 blobs, 2 layers, 1 image, 0 containers: 1 problem, run lamina fsck --repair', ''].join('\n') });
    expect(await fsckCli('--repair')).toMatchObject({ code: 0, stdout: [
      `blob ${layers[0]!.diffId}: content does not match its digest (repaired: removed it)`,
      `layer ${layers[0]!.diffId}: its tar blob is missing (repaired: rebuilt it from its gzip blob ${layers[0]!.digest})`,
      'checked 6 blobs, 2 layers, 1 image, 0 containers: 2 problems, 2 repaired', ''].join('\n') });
    expect(await storeState()).toBe(before); // the rebuilt tar is byte for byte the original
    expect(await fsckCli()).toMatchObject({ code: 0, stdout: HEALTHY });
  });

  it('finds missing blobs: rebuilds a layer tar, forgets a lost compressed copy, and says what to do about a lost config', async () => {
    await rm(blob(layers[1]!.diffId));
    await rm(blob(layers[0]!.digest));
    const r = await fsckCli();
    expect(r.code).toBe(1);
    expect(r.stdout).toBe([
      `layer ${layers[1]!.diffId}: its tar blob is missing (--repair: rebuilt it from its gzip blob ${layers[1]!.digest})`,
      `warning: blob ${layers[0]!.digest}: the gzip copy of layer ${layers[0]!.diffId} is missing (--repair: forgot it (save and push send the layer tar instead; a pull that needs it stores it again))`,
      'checked 4 blobs, 2 layers, 1 image, 0 containers: 1 problem, 1 warning, run lamina fsck --repair', ''].join('\n'));
    expect((await fsckCli('--repair')).code).toBe(0);
    expect(await fsckCli()).toMatchObject({ code: 0, stdout: 'checked 5 blobs, 2 layers, 1 image, 0 containers: no problems\n' });
    expect(sha(await readFile(blob(layers[1]!.diffId)))).toBe(layers[1]!.diffId);
    await laminaOk(root, ['save', '-o', path.join(work, `s${n}.tar`), id]); // with the layer tar standing in for the lost gzip blob

    await rm(blob(id));
    const lost = await fsckCli('--repair');
    expect(lost).toMatchObject({ code: 1, stdout: [
      `image ${id}: its config blob is missing (cannot repair: remove it (lamina rmi ${id.slice(7, 19)}) and pull or load it again)`,
      'checked 4 blobs, 2 layers, 1 image, 0 containers: 1 problem, 0 repaired', ''].join('\n') });
  });

  it('writes a lost manifest again when lamina made it, and otherwise says save and push will make a new one', async () => {
    const info = JSON.parse(await laminaOk(root, ['inspect', id]))[0];
    await rm(blob(info.Manifest.Digest));
    const tarball = path.join(work, `rootfs-${n}.tar`);
    await writeFile(tarball, await readFile(blob(layers[0]!.diffId)));
    const imported = (await laminaOk(root, ['import', tarball, 'fsck.test/imported:1'])).trim();
    const made = JSON.parse(await laminaOk(root, ['inspect', imported]))[0].Manifest.Digest;
    const before = await readFile(blob(made));
    await rm(blob(made));
    expect(await fsckCli('--repair')).toMatchObject({ code: 0, stdout: [
      `image ${imported}: its manifest blob ${made} is missing (repaired: wrote it again from the config and layers)`,
      `warning: image ${id}: its manifest blob ${info.Manifest.Digest} is missing (note: save and push write a new manifest, with a new digest)`,
      'checked 6 blobs, 2 layers, 2 images, 0 containers: 1 problem, 1 warning, 1 repaired', ''].join('\n') });
    expect(await readFile(blob(made))).toEqual(before);
    await laminaOk(root, ['save', '-o', path.join(work, `s${n}.tar`), id]);
  });

  it('finds rows that point at nothing and an unused layer, and --repair removes only those', async () => {
    const before = await storeState();
    const ghost = `sha256:${'e'.repeat(64)}`;
    sql(`INSERT INTO tags (name, image_id, tagged_at) VALUES ('fsck.test/ghost:1', '${ghost}', 0);
      INSERT INTO repo_digests (name, image_id) VALUES ('fsck.test/ghost@${ghost}', '${ghost}');
      INSERT INTO entries (diff_id, path, type, mode, uid, gid, size, mtime_sec, mtime_nsec, whiteout, opaque, data_offset)
        VALUES ('${ghost}', 'a', 'file', 420, 0, 0, 0, 0, 0, 0, 0, 0), ('${ghost}', 'b', 'file', 420, 0, 0, 0, 0, 0, 0, 0, 0);
      INSERT INTO mounts (dir, image_id, container_id, read_only, created) VALUES ('/mnt/ghost', '${ghost}', NULL, 1, '');
      INSERT INTO layers (diff_id, size, entry_count, added_at) VALUES ('sha256:${'d'.repeat(64)}', 0, 0, 0);`);
    expect(await fsckCli()).toMatchObject({ code: 1, stdout: [
      `entries of layer ${ghost}: the layer is not in the index (2 rows) (--repair: removed the rows)`,
      `tag fsck.test/ghost:1: names image ${ghost}, which is not in the index (--repair: removed the row)`,
      `repository digest fsck.test/ghost@${ghost}: names image ${ghost}, which is not in the index (--repair: removed the row)`,
      `kept mount /mnt/ghost: names image ${ghost}, which is not in the index (--repair: removed the row)`,
      `layer sha256:${'d'.repeat(64)}: no image uses it (--repair: removed its rows (lamina gc removes its blobs))`,
      'checked 6 blobs, 3 layers, 1 image, 0 containers: 5 problems, run lamina fsck --repair', ''].join('\n') });
    expect((await fsckCli('--repair')).stdout).toMatch(/: 5 problems, 5 repaired\n$/);
    expect(await storeState()).toBe(before);
    expect(await fsckCli()).toMatchObject({ code: 0, stdout: HEALTHY });
  });

  it('finds view rows, change sets and build cache steps that point at nothing, and --repair removes only those', async () => {
    await laminaOk(root, ['layers', id]); // stores the image's view rows and change set: they must survive
    const before = await storeState();
    expect(['views', 'view_entries', 'change_sets', 'layer_changes'].map(rowCount)).toEqual([1, 3, 1, 3]);
    const ghost = `sha256:${'e'.repeat(64)}`;
    sql(`INSERT INTO view_entries (image_id, path, parent, name, diff_id, source_path, ino, nlink)
        VALUES ('${ghost}', '', '', '', NULL, NULL, 1, 2), ('${ghost}', 'base.txt', '', 'base.txt', '${layers[0]!.diffId}', 'base.txt', 2, 1);
      INSERT INTO change_sets (id, image_id) VALUES (70, '${ghost}');
      INSERT INTO layer_changes (set_id, position, path, kind, listed, type, implicit)
        VALUES (70, 0, 'base.txt', 'A', 1, 'file', 0), (71, 0, 'gone.txt', 'A', 1, 'file', 0);
      INSERT INTO build_cache (parent_id, step_key, image_id, created) VALUES ('', 'f00d', '${ghost}', '');`);
    expect(await fsckCli()).toMatchObject({ code: 1, stdout: [
      `view rows of image ${ghost}: the view is not in the index (2 rows) (--repair: removed the rows)`,
      `layer changes of image ${ghost}: the image is not in the index (--repair: removed the row)`,
      'layer changes of change set 71: the change set is not in the index (--repair: removed the row)',
      `build cache step f00d: made image ${ghost}, which is not in the index (--repair: removed the row)`,
      'checked 6 blobs, 2 layers, 1 image, 0 containers: 4 problems, run lamina fsck --repair', ''].join('\n') });
    // Removing change set 70 takes its layer_changes row with it (ON DELETE CASCADE).
    expect(await fsckCli('--repair')).toMatchObject({ code: 0, stdout: expect.stringMatching(/: 4 problems, 4 repaired\n$/) });
    expect(await storeState()).toBe(before);
    expect(await fsckCli()).toMatchObject({ code: 0, stdout: HEALTHY });
  });

  it('rebuilds a damaged view file, removes one no image uses, and recreates a container\'s lost directories', async () => {
    const store = await Store.open(root);
    try {
      imageView(store, id as `sha256:${string}`); // writes the view file, as a mount does
    } finally {
      store.close();
    }
    const cid = (await laminaOk(root, ['create', '--name', 'c1', 'fsck.test/image:1'])).trim();
    const before = await storeState();
    const [view] = await readdir(path.join(root, 'views'));
    const viewFile = path.join(root, 'views', view!);
    const damaged = await readFile(viewFile);
    damaged.fill(0, 0, 8);
    await writeFile(viewFile, damaged);
    const unused = path.join(root, 'views', `${'0'.repeat(64)}.v1`);
    await writeFile(unused, 'left over');
    await rm(path.join(root, 'containers', cid, 'upper'), { recursive: true });
    const stray = path.join(root, 'containers', 'f'.repeat(64));
    await mkdir(path.join(stray, 'upper'), { recursive: true });
    await utimes(stray, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    const r = await fsckCli();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^view file ${viewFile}: malformed view file: [^\n]+ \\(--repair: built it again from the layers\\)\n`));
    expect(r.stdout.split('\n').slice(1).join('\n')).toBe([
      `warning: view file ${unused}: no image uses it (--repair: removed it)`,
      `container ${cid.slice(0, 12)}: its writable layer ${path.join(root, 'containers', cid, 'upper')} is missing (--repair: created it empty (the changes made in the container are lost))`,
      `warning: directory ${stray}: belongs to no container (--repair: removed it)`,
      'checked 6 blobs, 2 layers, 1 image, 1 container: 2 problems, 2 warnings, run lamina fsck --repair', ''].join('\n'));
    expect((await fsckCli('--repair')).stdout).toMatch(/: 2 problems, 2 warnings, 4 repaired\n$/);
    expect(await storeState()).toBe(before);
    expect(await readdir(path.join(root, 'containers'))).toEqual([cid]);
    expect(await fsckCli()).toMatchObject({ code: 0, stdout: 'checked 6 blobs, 2 layers, 1 image, 1 container: no problems\n' });
  });
});
