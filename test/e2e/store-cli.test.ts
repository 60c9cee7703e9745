import { createHash } from 'node:crypto';
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { humanSize } from '../../src/cli/format.js';
import { dockerArchive, layerTar } from '../helpers/archives.js';
import { buildOciLayout, ociLayoutToTar, ociToDockerArchive } from '../helpers/images.js';
import { BIN, lamina, laminaOk, tempDir } from '../helpers/lamina.js';
import { run, runOk } from '../helpers/proc.js';

let work: string;
let root: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: work, cleanup } = await tempDir());
  root = path.join(work, 'store');
});
afterEach(async () => cleanup());

async function blobFiles(): Promise<string[]> {
  return (await readdir(path.join(root, 'blobs/sha256')).catch(() => [] as string[])).sort();
}

/** Everything a user could see of the store: blob names and every index row. */
async function storeState(): Promise<string> {
  const db = new Database(path.join(root, 'index.db'), { readonly: true, fileMustExist: false });
  try {
    const tables = ['layers', 'layer_blobs', 'entries', 'images', 'image_layers', 'tags', 'repo_digests'];
    const rows = tables.map((t) => JSON.stringify(db.prepare(`SELECT * FROM ${t}`).all()));
    return JSON.stringify({ blobs: await blobFiles(), rows });
  } finally {
    db.close();
  }
}

async function twoLayerLayout(dir: string): Promise<void> {
  await buildOciLayout(dir, [
    async (rootfs) => {
      await writeFile(path.join(rootfs, 'base.txt'), 'base\n');
      await writeFile(path.join(rootfs, 'gone.txt'), 'to be removed\n');
    },
    async (rootfs) => {
      await writeFile(path.join(rootfs, 'top.txt'), 'top\n');
      await runOk('rm', [path.join(rootfs, 'gone.txt')]);
    },
  ], { config: { env: ['PATH=/bin', 'A=1'], cmd: ['/bin/sh'] } });
}

describe('load', () => {
  it('loads a skopeo docker-archive with the diff_ids skopeo reports', async () => {
    const layout = path.join(work, 'layout');
    await twoLayerLayout(layout);
    const archive = path.join(work, 'img.tar');
    await ociToDockerArchive(layout, 'latest', archive, 'example.com/team/app:1.0');
    expect(await laminaOk(root, ['load', '-i', archive])).toBe('Loaded image: example.com/team/app:1.0\n');
    const want = JSON.parse((await runOk('skopeo', ['inspect', '--config', `docker-archive:${archive}`])).stdout);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', 'example.com/team/app:1.0']));
    expect(info.RootFS.Layers).toEqual(want.rootfs.diff_ids);
    expect(info.RootFS.Layers).toHaveLength(2);
    expect(info.Config.Env).toEqual(['PATH=/bin', 'A=1']);
    expect(info.RepoTags).toEqual(['example.com/team/app:1.0']);
    const images = await laminaOk(root, ['images']);
    expect(images.split('\n')[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(images).toMatch(new RegExp(`example.com/team/app\\s+1.0\\s+${info.Id.slice(7, 19)}\\s`));
  });

  it('loads an OCI layout as a directory and as a tar, keeping the manifest digests', async () => {
    const layout = path.join(work, 'layout');
    await twoLayerLayout(layout);
    const asTar = path.join(work, 'layout.tar');
    await ociLayoutToTar(layout, asTar);
    const fromDir = await laminaOk(root, ['load', '-i', layout]);
    expect(fromDir).toMatch(/^Loaded image ID: sha256:[0-9a-f]{64}\n$/);
    const again = await laminaOk(path.join(work, 'store2'), ['load', '-i', asTar]);
    expect(again).toBe(fromDir);
    const want = JSON.parse((await runOk('skopeo', ['inspect', '--config', `oci:${layout}:latest`])).stdout);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', fromDir.trim().split(' ').pop()!]));
    expect(info.RootFS.Layers).toEqual(want.rootfs.diff_ids);
    const manifest = JSON.parse((await runOk('skopeo', ['inspect', '--raw', `oci:${layout}:latest`])).stdout);
    expect(info.LayerBlobs.map((l: { Digest: string }) => l.Digest)).toEqual(manifest.layers.map((l: { digest: string }) => l.digest));
  });

  it('loads several images from one archive with their tags', async () => {
    const base = await layerTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/os', content: 'x' }]);
    const archive = path.join(work, 'multi.tar');
    await dockerArchive(archive, [
      { tags: ['one:a', 'one:b'], layers: [base] },
      { tags: ['localhost:5000/two:latest'], layers: [base, await layerTar([{ name: 'two', content: '2' }])], gzip: true },
    ]);
    const out = await laminaOk(root, ['load', '-i', archive]);
    expect(out.trim().split('\n')).toEqual(['Loaded image: one:a', 'Loaded image: one:b', 'Loaded image: localhost:5000/two:latest']);
    // docker prints one ID per row: one:a and one:b show the same ID twice
    const q = (await laminaOk(root, ['images', '-q'])).trim().split('\n');
    expect(q).toHaveLength(3);
    expect(new Set(q).size).toBe(2);
  });

  it('stores a shared base layer once', async () => {
    const base = await layerTar([{ name: 'big', content: 'B'.repeat(1 << 20) }]);
    const a = path.join(work, 'a.tar');
    const b = path.join(work, 'b.tar');
    await dockerArchive(a, [{ tags: ['a:1'], layers: [base, await layerTar([{ name: 'a', content: 'a' }])] }]);
    await dockerArchive(b, [{ tags: ['b:1'], layers: [base, await layerTar([{ name: 'b', content: 'b' }])] }]);
    await laminaOk(root, ['load', '-i', a]);
    const afterA = await blobFiles();
    await laminaOk(root, ['load', '-i', b]);
    const afterB = await blobFiles();
    // b adds its config, its manifest and its own small layer: nothing of the 1 MiB base.
    expect(afterB.length - afterA.length).toBe(3);
    let bytes = 0;
    for (const f of afterB) bytes += (await stat(path.join(root, 'blobs/sha256', f))).size;
    expect(bytes).toBeLessThan(1.5 * (1 << 20));
    const info = JSON.parse(await laminaOk(root, ['info', '--format', 'json']));
    expect(info).toMatchObject({ Images: 2, Layers: 3, Blobs: afterB.length, BytesOnDisk: bytes });
    expect(info.BytesSaved).toBeGreaterThanOrEqual(1 << 20);
  });
});

/** One image whose config is valid but for `extra`. */
async function hostileConfig(extra: Record<string, unknown>): Promise<Parameters<typeof dockerArchive>[1]> {
  const layer = await layerTar([{ name: 'a', content: 'a' }]);
  const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(layer).digest('hex')}`] }, ...extra };
  return [{ tags: ['x:1'], layers: [layer], config }];
}

describe('hostile and broken input', () => {
  const cases: Array<[string, () => Promise<Parameters<typeof dockerArchive>[1]>, RegExp]> = [
    ['a ../ path', async () => [{ tags: ['x:1'], layers: [await layerTar([{ name: '../escape', content: 'x' }])] }], /escape.*(escapes|\.\.)/],
    ['an absolute path', async () => [{ tags: ['x:1'], layers: [await layerTar([{ name: '/etc/evil', content: 'x' }])] }], /etc\/evil/],
    ['a hardlink to a missing target', async () => [{ tags: ['x:1'], layers: [await layerTar([{ name: 'l', type: 'link', linkname: 'nothere' }])] }], /nothere|hardlink/],
    ['a hardlink outside the layer', async () => [{ tags: ['x:1'], layers: [await layerTar([{ name: 'l', type: 'link', linkname: '../../etc/shadow' }])] }], /shadow|escape/],
    ['diff_ids that do not match', async () => [{ tags: ['x:1'], layers: [await layerTar([{ name: 'a', content: 'a' }])],
      config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] } } }], /diff_id/],
    ['a root-level whiteout that would hide the whole image', async () => [{ tags: ['x:1'], layers: [
      await layerTar([{ name: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' }]), await layerTar([{ name: '.wh.' }])] }],
    /layer .*: entry "\.wh\.": invalid whiteout: it names no file \(it would hide the layer root\)\n$/],
    ['a whiteout of ..', async () => [{ tags: ['x:1'], layers: [await layerTar([{ name: 'etc/.wh...' }])] }], /entry "etc\/\.wh\.\.\.": invalid whiteout: it would hide "\.\."\n$/],
    ['non-string Env entries in the config', async () => hostileConfig({ config: { Env: [1, 2] } }),
      /bad\.tar: invalid image config: config\.Env\[0\]: expected string, got 1\n$/],
    ['a config with 300,000 history entries', async () => hostileConfig({ history: Array.from({ length: 300_000 }, () => ({ created_by: 'ENV A=1', empty_layer: true })) }),
      /bad\.tar: invalid image config: history: more than 10000 entries\n$/],
    ['a config nested 1,000 levels deep', async () => hostileConfig({ x: JSON.parse(`${'['.repeat(1000)}${']'.repeat(1000)}`) }),
      /bad\.tar: config: invalid JSON: nested more than 128 levels deep\n$/],
    ['a missing config', async () => [{ tags: ['x:1'], layers: [await layerTar([{ name: 'a', content: 'a' }])], omitConfig: true }], /missing .*\.json/],
  ];
  it.each(cases)('rejects %s with a one-line error and an unchanged store', async (_name, images, why) => {
    await laminaOk(root, ['info']); // create an empty store to compare against
    const before = await storeState();
    const archive = path.join(work, 'bad.tar');
    await dockerArchive(archive, await images());
    const r = await lamina(root, ['load', '-i', archive]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('bad.tar');
    expect(r.stderr).toMatch(why);
    expect(await storeState()).toBe(before);
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
  });

  it('rejects a truncated gzip layer', async () => {
    await laminaOk(root, ['info']);
    const before = await storeState();
    const layer = path.join(work, 'layer.tar.gz');
    const tarFile = path.join(work, 'layer.tar');
    await runOk('sh', ['-c', `head -c 100000 /dev/urandom > ${work}/f && tar -C ${work} -cf ${tarFile} f`]);
    await runOk('sh', ['-c', `gzip -c ${tarFile} | head -c 2000 > ${layer}`]);
    const r = await lamina(root, ['import', layer, 'trunc:1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/layer\.tar\.gz.*(truncated|unexpected end)/i);
    expect(await storeState()).toBe(before);
  });

  it('rejects an OCI blob whose digest does not match the manifest', async () => {
    const layout = path.join(work, 'layout');
    await twoLayerLayout(layout);
    const manifest = JSON.parse((await runOk('skopeo', ['inspect', '--raw', `oci:${layout}:latest`])).stdout);
    const victim = path.join(layout, 'blobs/sha256', manifest.layers[1].digest.slice(7));
    await runOk('sh', ['-c', `gzip -dc ${victim} | gzip -1 > ${victim}.new && mv ${victim}.new ${victim}`]);
    await laminaOk(root, ['info']);
    const before = await storeState();
    const r = await lamina(root, ['load', '-i', layout]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/digest mismatch/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await storeState()).toBe(before);
  });

  it('rejects an unknown layer media type', async () => {
    const layout = path.join(work, 'layout');
    await twoLayerLayout(layout);
    // Rewrite the manifest with a bogus layer media type and point index.json at it.
    const index = JSON.parse(await (await import('node:fs/promises')).readFile(path.join(layout, 'index.json'), 'utf8'));
    const mPath = (d: string) => path.join(layout, 'blobs/sha256', d.slice(7));
    const m = JSON.parse(await (await import('node:fs/promises')).readFile(mPath(index.manifests[0].digest), 'utf8'));
    m.layers[0].mediaType = 'application/x-not-a-layer';
    const body = Buffer.from(JSON.stringify(m));
    const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(body).digest('hex')}`;
    await writeFile(mPath(digest), body);
    index.manifests[0] = { ...index.manifests[0], digest, size: body.length };
    await writeFile(path.join(layout, 'index.json'), JSON.stringify(index));
    const r = await lamina(root, ['load', '-i', layout]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unsupported layer media type "application\/x-not-a-layer"/);
  });

  it.each([['UPPER:case'], ['bad::tag'], ['foo@sha256:abc'], ['a//b']])('rejects invalid reference %s', async (ref) => {
    const file = path.join(work, 'l.tar');
    await writeFile(file, await layerTar([{ name: 'a', content: 'a' }]));
    const r = await lamina(root, ['import', file, ref]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/invalid reference/);
  });
});

describe('crash safety', () => {
  it('a load killed with SIGKILL leaves no image and no blob; the rerun succeeds', async () => {
    const bigFile = path.join(work, 'big.bin');
    await runOk('sh', ['-c', `head -c ${400 << 20} /dev/urandom > ${bigFile}`]);
    const rootfs = path.join(work, 'rootfs.tar');
    await runOk('tar', ['-C', work, '-cf', rootfs, 'big.bin']);
    const archive = path.join(work, 'big-archive.tar');
    const layer = await (await import('node:fs/promises')).readFile(rootfs);
    await dockerArchive(archive, [{ tags: ['big:1'], layers: [layer] }]);
    await laminaOk(root, ['info']);
    const child = (await import('node:child_process')).spawn(process.execPath,
      [BIN, '--root', root, 'load', '-i', archive], { stdio: 'ignore' });
    // Kill once the ingest has written something.
    for (let i = 0; i < 200; i++) {
      const staged = await runOk('sh', ['-c', `du -sb ${root}/ingest | cut -f1`]);
      if (Number(staged.stdout) > (20 << 20)) break;
      await sleep(50);
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(await laminaOk(root, ['images', '-q'])).toBe('');
    expect(await blobFiles()).toEqual([]);
    expect(await laminaOk(root, ['load', '-i', archive])).toBe('Loaded image: big:1\n');
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
    const r = await run('sh', ['-c', `ls ${root}/blobs/sha256 | wc -l`]);
    expect(Number(r.stdout)).toBe(3); // layer tar, config, manifest: no orphans
  }, 180_000);
});

describe('tags, removal, import, history', () => {
  async function loadTwo(): Promise<string[]> {
    const base = await layerTar([{ name: 'base', content: 'b'.repeat(5000) }]);
    const archive = path.join(work, 'two.tar');
    return dockerArchive(archive, [
      { tags: ['alpha:1'], layers: [base] },
      { tags: ['beta:1'], layers: [base, await layerTar([{ name: 'extra', content: 'e' }])] },
    ]).then(async (ids) => (await laminaOk(root, ['load', '-i', archive]), ids));
  }

  it('tags many names onto one image and lists them like docker', async () => {
    const [alpha] = await loadTwo();
    await laminaOk(root, ['tag', 'alpha:1', 'alpha:latest']);
    await laminaOk(root, ['tag', alpha!.slice(7, 15), 'localhost:5000/mirror/alpha:v2']);
    const rows = (await laminaOk(root, ['images', 'alpha'])).trim().split('\n');
    expect(rows).toHaveLength(3);
    expect(rows.slice(1).map((r) => r.split(/\s+/).slice(0, 3))).toEqual([
      ['alpha', '1', alpha!.slice(7, 19)], ['alpha', 'latest', alpha!.slice(7, 19)],
    ].sort((a, b) => a[1]!.localeCompare(b[1]!)).sort());
    const json = (await laminaOk(root, ['images', '--format', 'json'])).trim().split('\n').map((l) => JSON.parse(l));
    expect(json.map((j) => `${j.Repository}:${j.Tag}`).sort()).toEqual(['alpha:1', 'alpha:latest', 'beta:1', 'localhost:5000/mirror/alpha:v2']);
    expect(json[0].CreatedSince).toMatch(/ago$/);
    expect(await lamina(root, ['tag', 'nope:1', 'x:1'])).toMatchObject({ code: 1, stderr: 'error: No such image: nope:1\n' });
  });

  it('rmi follows docker: untag, delete on last tag, -f for several repositories, shared layers stay', async () => {
    const [alpha, beta] = await loadTwo();
    await laminaOk(root, ['tag', 'alpha:1', 'other:1']);
    const refused = await lamina(root, ['rmi', alpha!.slice(7, 19)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/must be forced.*multiple repositories/);
    expect(await laminaOk(root, ['rmi', 'other:1'])).toBe('Untagged: other:1\n');
    const out = await laminaOk(root, ['rmi', 'alpha:1']);
    expect(out).toMatch(new RegExp(`^Untagged: alpha:1\nDeleted: ${alpha}\n$`));
    // beta still uses the base layer: its blobs and entries stay.
    const [info] = JSON.parse(await laminaOk(root, ['inspect', 'beta:1']));
    expect(info.Id).toBe(beta);
    for (const l of info.LayerBlobs) expect(await stat(path.join(root, 'blobs/sha256', l.Digest.slice(7)))).toBeTruthy();
    const gone = await laminaOk(root, ['rmi', '-f', 'beta:1']);
    expect(gone).toMatch(/Deleted: sha256:/);
    expect(await blobFiles()).toEqual([]);
  });

  it('loading an image again keeps its other tags', async () => {
    const [alpha] = await loadTwo();
    await laminaOk(root, ['tag', 'alpha:1', 'extra:1']);
    await laminaOk(root, ['load', '-i', path.join(work, 'two.tar')]);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', 'extra:1']));
    expect(info.Id).toBe(alpha);
    expect(info.RepoTags.sort()).toEqual(['alpha:1', 'extra:1']);
  });

  it('ambiguous and missing ID prefixes are errors', async () => {
    await loadTwo();
    // docker inspect looks for any object; docker image inspect for images
    expect((await lamina(root, ['inspect', 'ffff0000'])).stderr).toBe('error: No such object: ffff0000\n');
    expect((await lamina(root, ['image', 'inspect', 'ffff0000'])).stderr).toBe('error: No such image: ffff0000\n');
    const bad = await lamina(root, ['rmi', 'sha256:']);
    expect(bad.code).not.toBe(0);
  });

  it('image prune removes untagged images only', async () => {
    const [alpha] = await loadTwo();
    await laminaOk(root, ['tag', 'alpha:1', 'keep:1']);
    await laminaOk(root, ['rmi', 'beta:1']);
    await laminaOk(root, ['rmi', 'keep:1']);
    expect((await laminaOk(root, ['images', '-q'])).trim()).toBe(alpha!.slice(7, 19));
  });

  it('image prune -a removes what no container uses; a shared layer goes with its last image; the bytes are the blobs deleted', async () => {
    const base = await layerTar([{ name: 'base', content: 'b'.repeat(5000) }]);
    const [alpha] = await dockerArchive(path.join(work, 'a.tar'), [{ tags: ['alpha:1'], layers: [base] }]);
    const [beta] = await dockerArchive(path.join(work, 'b.tar'), [{ tags: ['beta:1'], layers: [base, await layerTar([{ name: 'extra', content: 'e' }])] }]);
    await laminaOk(root, ['load', '-i', path.join(work, 'a.tar')]);
    await laminaOk(root, ['load', '-i', path.join(work, 'b.tar')]); // newer: pruned first
    await laminaOk(root, ['tag', 'alpha:1', 'alpha:2']);
    const [baseLayer, extraLayer] = JSON.parse(await laminaOk(root, ['inspect', 'beta:1']))[0].RootFS.Layers as string[];
    const sizes = async () => new Map(await Promise.all((await blobFiles()).map(async (b) => [b, (await stat(path.join(root, 'blobs/sha256', b))).size] as const)));
    const freed = (before: Map<string, number>, after: Map<string, number>) => humanSize([...before].reduce((n, [b, sz]) => n + (after.has(b) ? 0 : sz), 0), 4);

    const cid = (await laminaOk(root, ['create', 'beta:1'])).trim();
    let before = await sizes();
    const first = await laminaOk(root, ['image', 'prune', '-a', '-f']);
    let after = await sizes();
    expect(before.size - after.size).toBe(2); // alpha's config and manifest: beta still needs the base layer
    expect(first).toBe(['Deleted Images:', 'untagged: alpha:1', 'untagged: alpha:2', `deleted: ${alpha}`, '',
      `Total reclaimed space: ${freed(before, after)}`, ''].join('\n'));

    await laminaOk(root, ['rm', cid]);
    before = after;
    const second = await laminaOk(root, ['image', 'prune', '-a', '-f']);
    after = await sizes();
    expect(after.size).toBe(0);
    const layers = [baseLayer, extraLayer].sort().map((l) => `deleted: ${l}`); // the layers an image frees, by diff ID
    expect(second).toBe(['Deleted Images:', 'untagged: beta:1', `deleted: ${beta}`, ...layers, '',
      `Total reclaimed space: ${freed(before, after)}`, ''].join('\n'));
    expect(await laminaOk(root, ['image', 'prune', '-a', '-f'])).toBe('Total reclaimed space: 0B\n');
  });

  it('import makes a one-layer image with a history entry', async () => {
    const src = path.join(work, 'src');
    await runOk('mkdir', ['-p', `${src}/etc`]);
    await writeFile(path.join(src, 'etc/hello'), 'hi\n');
    const tarball = path.join(work, 'rootfs.tar.gz');
    await runOk('tar', ['-C', src, '-czf', tarball, '.']);
    const id = (await laminaOk(root, ['import', '-m', 'my rootfs', tarball, 'imported:v1'])).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', 'imported:v1']));
    expect(info).toMatchObject({ Id: id, Os: 'linux', Comment: 'my rootfs', RepoTags: ['imported:v1'] });
    expect(info.RootFS.Layers).toHaveLength(1);
    const history = (await laminaOk(root, ['history', 'imported:v1'])).trim().split('\n');
    expect(history[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(history[1]).toMatch(new RegExp(`^${id.slice(7, 19)}\\s+(Less than a second|\\d+ seconds?) ago\\s+\\S+\\s+my rootfs$`));
  });
});
