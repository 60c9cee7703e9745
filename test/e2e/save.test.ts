import { mkdir, readdir, readFile, symlink, writeFile, link, chmod, open } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dockerArchive, layerTar } from '../helpers/archives.js';
import { buildOciLayout, diffSnapshots, treeSnapshot, umociUnpack } from '../helpers/images.js';
import { BIN, lamina, laminaOk, tempDir } from '../helpers/lamina.js';
import { haveCommand, run, runOk } from '../helpers/proc.js';

let work: string;
let root: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: work, cleanup } = await tempDir('lamina-save-'));
  root = path.join(work, 'store');
});
afterEach(async () => cleanup());

const APP = 'example.com/team/app:1.0';

/** Three umoci layers: a tree with a symlink and a hardlink, whiteouts, then an opaque directory. */
async function appLayout(dir: string): Promise<void> {
  await buildOciLayout(dir, [
    async (rootfs) => {
      await mkdir(path.join(rootfs, 'etc/conf.d'), { recursive: true });
      await writeFile(path.join(rootfs, 'etc/conf.d/a'), 'a\n');
      await writeFile(path.join(rootfs, 'etc/conf.d/b'), 'b\n');
      await writeFile(path.join(rootfs, 'gone.txt'), 'to be removed\n');
      await writeFile(path.join(rootfs, 'tool'), '#!/bin/sh\n');
      await chmod(path.join(rootfs, 'tool'), 0o4755);
      await symlink('tool', path.join(rootfs, 'tool-link'));
      await link(path.join(rootfs, 'tool'), path.join(rootfs, 'tool-hard'));
    },
    async (rootfs) => {
      await runOk('rm', ['-f', path.join(rootfs, 'gone.txt'), path.join(rootfs, 'etc/conf.d/a')]);
      await writeFile(path.join(rootfs, 'top.txt'), 'top\n');
    },
    { entries: [
      { name: 'etc/conf.d/', type: 'directory' },
      { name: 'etc/conf.d/.wh..wh..opq' },
      { name: 'etc/conf.d/c', content: 'only c survives\n' },
    ] },
  ], { config: { env: ['PATH=/bin', 'A=1'], cmd: ['/bin/sh'] } });
}

/** Load the umoci image into the store under APP; returns its ID. */
async function loadApp(): Promise<string> {
  const layout = path.join(work, 'layout');
  await appLayout(layout);
  const id = (await laminaOk(root, ['load', '-i', layout])).trim().split(' ').pop()!;
  await laminaOk(root, ['tag', id, APP]);
  return id;
}

async function inspect(storeRoot: string, ref: string) {
  return JSON.parse(await laminaOk(storeRoot, ['inspect', ref]))[0];
}

/** What a round trip must keep: ID, tags, diff_ids and layer blob digests. */
const identity = (i: { Id: string; RepoTags: string[]; RootFS: { Layers: string[] }; LayerBlobs: Array<{ Digest: string }> }) => ({
  Id: i.Id, RepoTags: i.RepoTags, diffIds: i.RootFS.Layers, blobs: i.LayerBlobs.map((l) => l.Digest),
});

const tarMembers = async (file: string) => (await runOk('tar', ['tf', file])).stdout.trim().split('\n');
const leftovers = async (dir: string) => (await readdir(dir)).filter((n) => n.includes('.tmp-'));

describe('save docker-archive', () => {
  it('is read by skopeo: same tree as the original under umoci unpack, same diff_ids', async () => {
    await loadApp();
    const archive = path.join(work, 'app.tar');
    expect(await laminaOk(root, ['save', '-o', archive, APP])).toBe('');
    await runOk('skopeo', ['copy', '-q', `docker-archive:${archive}`, `oci:${work}/copied:t`], { timeout: 300_000 });
    const [want, got] = await Promise.all([
      umociUnpack(path.join(work, 'layout'), 'latest', path.join(work, 'want')).then((d) => treeSnapshot(d)),
      umociUnpack(path.join(work, 'copied'), 't', path.join(work, 'got')).then((d) => treeSnapshot(d)),
    ]);
    expect(diffSnapshots(want, got, { labels: ['original', 'saved'] })).toEqual([]);
    const paths = got.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/etc/conf.d/c', '/top.txt', '/tool', '/tool-hard', '/tool-link']));
    for (const hidden of ['/gone.txt', '/etc/conf.d/a', '/etc/conf.d/b']) expect(paths).not.toContain(hidden);
    expect(got.find((e) => e.path === '/tool')).toMatchObject({ mode: 0o4755, hardlinkGroup: '/tool' });
    const config = JSON.parse((await runOk('skopeo', ['inspect', '--config', `docker-archive:${archive}`])).stdout);
    expect(config.rootfs.diff_ids).toEqual((await inspect(root, APP)).RootFS.Layers);
  }, 300_000);

  it('writes docker 25+ members: manifest.json, repositories, and an OCI layout over the same blobs', async () => {
    const id = await loadApp();
    const archive = path.join(work, 'app.tar');
    await laminaOk(root, ['save', '-o', archive, APP]);
    const info = await inspect(root, APP);
    const member = async (name: string) => JSON.parse((await runOk('tar', ['xOf', archive, name])).stdout);
    const blob = (d: string) => `blobs/sha256/${d.slice(7)}`;
    expect(await member('manifest.json')).toEqual([{
      Config: blob(id), RepoTags: [APP], Layers: info.LayerBlobs.map((l: { Digest: string }) => blob(l.Digest)),
    }]);
    expect(await member('repositories')).toEqual({ 'example.com/team/app': { '1.0': info.LayerBlobs.at(-1).Digest.slice(7) } });
    const index = await member('index.json');
    expect(index.manifests).toEqual([expect.objectContaining({
      digest: info.Manifest.Digest, annotations: { 'io.containerd.image.name': APP, 'org.opencontainers.image.ref.name': '1.0' },
    })]);
    const raw = JSON.parse((await runOk('skopeo', ['inspect', '--raw', `oci-archive:${archive}:1.0`])).stdout);
    expect(raw.layers.map((l: { digest: string }) => l.digest)).toEqual(info.LayerBlobs.map((l: { Digest: string }) => l.Digest));
  }, 300_000);

  it('streams to stdout when redirected, byte for byte what -o writes', async () => {
    await loadApp();
    const file = path.join(work, 'file.tar');
    const piped = path.join(work, 'piped.tar');
    await laminaOk(root, ['save', '-o', file, APP]);
    await runOk('sh', ['-c', `"${process.execPath}" "${BIN}" --root "${root}" save "${APP}" > "${piped}"`]);
    await runOk('sh', ['-c', `"${process.execPath}" "${BIN}" --root "${root}" save -o - "${APP}" | cmp - "${file}"`]);
    expect((await readFile(piped)).equals(await readFile(file))).toBe(true);
  }, 300_000);

  it.runIf(process.platform === 'linux')('refuses to write to a terminal', async () => {
    if (!(await haveCommand('script'))) return;
    await laminaOk(root, ['info']);
    const r = await run('script', ['-qec', `"${process.execPath}" "${BIN}" --root "${root}" save ${APP}`, '/dev/null']);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  });
});

describe('several images', () => {
  async function loadThree(): Promise<{ base: Buffer; ids: string[] }> {
    const base = await layerTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/os', content: 'B'.repeat(100_000) }]);
    const archive = path.join(work, 'in.tar');
    const ids = await dockerArchive(archive, [
      { tags: ['one:a', 'one:b'], layers: [base] },
      { tags: ['localhost:5000/two:latest'], layers: [base, await layerTar([{ name: 'two', content: '2' }])], gzip: true },
      { tags: ['third:x'], layers: [await layerTar([{ name: 'u', content: 'u' }])] },
    ]);
    await laminaOk(root, ['load', '-i', archive]);
    return { base, ids };
  }

  it('keeps every tag, writes a shared layer once, and skopeo reads each image', async () => {
    const { ids } = await loadThree();
    const archive = path.join(work, 'multi.tar');
    await laminaOk(root, ['save', '-o', archive, 'one:a', 'localhost:5000/two:latest', 'one:b']);
    const shared = (await inspect(root, 'one:a')).LayerBlobs[0].Digest.slice(7);
    const members = await tarMembers(archive);
    expect(members.filter((m) => m.endsWith(shared))).toHaveLength(1);
    expect(members.filter((m) => m === 'manifest.json')).toHaveLength(1);
    const manifest = JSON.parse((await runOk('tar', ['xOf', archive, 'manifest.json'])).stdout);
    expect(manifest.map((m: { RepoTags: string[] }) => m.RepoTags)).toEqual([['one:a', 'one:b'], ['localhost:5000/two:latest']]);
    const two = JSON.parse((await runOk('skopeo', ['inspect', '--config', `docker-archive:${archive}:localhost:5000/two:latest`])).stdout);
    expect(two.rootfs.diff_ids).toEqual((await inspect(root, 'localhost:5000/two:latest')).RootFS.Layers);
    const store2 = path.join(work, 'store2');
    expect((await laminaOk(store2, ['load', '-i', archive])).trim().split('\n'))
      .toEqual(['Loaded image: one:a', 'Loaded image: one:b', 'Loaded image: localhost:5000/two:latest']);
    expect([...new Set((await laminaOk(store2, ['images', '-q', '--no-trunc'])).trim().split('\n'))].sort()).toEqual([ids[0], ids[1]].sort());
  });

  it('a repository name saves all its tags; an ID saves the image untagged', async () => {
    const { ids } = await loadThree();
    const byRepo = path.join(work, 'repo.tar');
    await laminaOk(root, ['save', '-o', byRepo, 'one']);
    const m = JSON.parse((await runOk('tar', ['xOf', byRepo, 'manifest.json'])).stdout);
    expect(m.map((i: { RepoTags: string[] }) => i.RepoTags.sort())).toEqual([['one:a', 'one:b']]);
    const byId = path.join(work, 'id.tar');
    await laminaOk(root, ['save', '-o', byId, ids[2]!.slice(7, 19)]);
    expect(JSON.parse((await runOk('tar', ['xOf', byId, 'manifest.json'])).stdout)[0].RepoTags).toBeNull();
    expect(await tarMembers(byId)).not.toContain('repositories');
    expect(await laminaOk(path.join(work, 'store2'), ['load', '-i', byId])).toBe(`Loaded image ID: ${ids[2]}\n`);
  });
});

describe('load(save(x))', () => {
  it.each([['docker-archive'], ['oci'], ['oci-dir']])('restores IDs, tags, diff_ids and layer digests (%s)', async (format) => {
    await loadApp();
    const base = await layerTar([{ name: 'b', content: 'b'.repeat(5000) }]);
    const archive = path.join(work, 'in.tar');
    await dockerArchive(archive, [{ tags: ['other:1'], layers: [base, await layerTar([{ name: 'c', content: 'c' }])], gzip: true }]);
    await laminaOk(root, ['load', '-i', archive]);
    const out = path.join(work, format === 'oci-dir' ? 'saved/' : 'saved.tar');
    await laminaOk(root, ['save', '--format', format, '-o', out, APP, 'other:1']);
    const store2 = path.join(work, 'store2');
    await laminaOk(store2, ['load', '-i', out]);
    for (const ref of [APP, 'other:1']) {
      const [before, after] = [await inspect(root, ref), await inspect(store2, ref)];
      expect(identity(after)).toEqual(identity(before));
      if (format !== 'docker-archive') expect(after.Manifest.Digest).toBe(before.Manifest.Digest);
    }
  }, 300_000);
});

describe('save --format oci', () => {
  it('writes an OCI layout tar and directory that skopeo reads by full reference', async () => {
    await loadApp();
    const info = await inspect(root, APP);
    const archive = path.join(work, 'app-oci.tar');
    await laminaOk(root, ['save', '--format', 'oci', '-o', archive, APP]);
    expect(await tarMembers(archive)).not.toContain('manifest.json');
    const fromTar = JSON.parse((await runOk('skopeo', ['inspect', `oci-archive:${archive}:${APP}`])).stdout);
    expect(fromTar.Digest).toBe(info.Manifest.Digest);
    expect(fromTar.Layers).toEqual(info.LayerBlobs.map((l: { Digest: string }) => l.Digest));
    const dir = path.join(work, 'layout-out');
    await laminaOk(root, ['save', '-o', `${dir}/`, APP]);
    const fromDir = JSON.parse((await runOk('skopeo', ['inspect', `oci:${dir}:${APP}`])).stdout);
    expect(fromDir.Digest).toBe(info.Manifest.Digest);
    expect((await readdir(dir)).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
    expect(await leftovers(work)).toEqual([]);
  }, 300_000);

  it('writes the layer tar and a new manifest when a compressed blob is gone', async () => {
    const id = await loadApp();
    const before = await inspect(root, APP);
    const top = before.LayerBlobs.at(-1);
    await runOk('rm', [path.join(root, 'blobs/sha256', top.Digest.slice(7))]);
    const archive = path.join(work, 'fallback.tar');
    await laminaOk(root, ['save', '--format', 'oci', '-o', archive, APP]);
    const raw = JSON.parse((await runOk('skopeo', ['inspect', '--raw', `oci-archive:${archive}:${APP}`])).stdout);
    expect(raw.layers.at(-1)).toMatchObject({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: top.DiffID });
    const store2 = path.join(work, 'store2');
    await laminaOk(store2, ['load', '-i', archive]);
    const after = await inspect(store2, APP);
    expect(after.Id).toBe(id);
    expect(after.RootFS.Layers).toEqual(before.RootFS.Layers);
    expect(after.Manifest.Digest).not.toBe(before.Manifest.Digest);
  }, 300_000);
});

describe('errors', () => {
  async function expectFailure(args: string[], why: RegExp): Promise<void> {
    const r = await lamina(root, args);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(why);
    expect(r.stdout).toBe('');
  }

  it('an unknown image fails before anything is written', async () => {
    await loadApp();
    const out = path.join(work, 'out.tar');
    await expectFailure(['save', '-o', out, APP, 'nope:1'], /^error: No such image: nope:1$/m);
    expect(await readdir(work)).not.toContain('out.tar');
    expect(await leftovers(work)).toEqual([]);
  }, 300_000);

  it('a missing output directory, a non-empty layout directory and a bad format are errors', async () => {
    await loadApp();
    await expectFailure(['save', '-o', path.join(work, 'no/such/dir/out.tar'), APP], /no\/such\/dir.*does not exist/);
    await expectFailure(['save', '-o', `${path.join(work, 'no/such')}/`, APP], /no\/such.*does not exist/);
    await expectFailure(['save', '--format', 'zip', '-o', path.join(work, 'x.zip'), APP], /unknown format "zip"/);
    await expectFailure(['save', '-o', `${work}/`, APP], /not empty/);
    expect(await leftovers(work)).toEqual([]);
  }, 300_000);

  it('a corrupt blob aborts the save and removes the partial file', async () => {
    await loadApp();
    const top = (await inspect(root, APP)).LayerBlobs.at(-1).Digest.slice(7);
    const fh = await open(path.join(root, 'blobs/sha256', top), 'r+');
    const { size } = await fh.stat();
    await fh.write(Buffer.from([0xff]), 0, 1, size - 1);
    await fh.close();
    const out = path.join(work, 'out.tar');
    await expectFailure(['save', '-o', out, APP], new RegExp(`blob sha256:${top}: stored content does not match its digest`));
    expect(await readdir(work)).not.toContain('out.tar');
    expect(await leftovers(work)).toEqual([]);
  }, 300_000);
});
