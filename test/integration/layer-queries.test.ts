// lamina layers, which, diff (images, layers) and find, answered from the index, checked against
// read-only mounts of the same images and of each image as every layer left it (prefix images),
// against the layer tars themselves and against GNU find run on the mounts.
import { createHash } from 'node:crypto';
import { chmod, link, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMountInfo } from '../../src/fuse/mountinfo.js';
import {
  buildOciLayout, readOciImage, tagLayerPrefixes, treeSnapshot, type TreeEntry,
} from '../helpers/images.js';
import { lamina, laminaOk, tempDir } from '../helpers/lamina.js';
import { run, runOk } from '../helpers/proc.js';

const canMount = process.getuid?.() === 0 && (await readFile('/dev/fuse').then(() => true, (e) => e.code !== 'ENOENT'));

const SHARED = 'the same bytes in several places\n';
const OLD = new Date('2020-01-01T00:00:00Z');

/** Layer 1: files, links, devices, names and directories the later layers change. */
async function base(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  for (const d of ['etc', 'usr/lib', 'usr/bin', 'hard', 'wh/gone-dir/sub', 'tc/d2f', 'opq/sub', 'redo', 'devs', 'many',
    'dir with spaces', 'xattr', 'data']) await mkdir(p(d), { recursive: true });
  await writeFile(p('etc/hostname'), 'base\n');
  await writeFile(p('etc/config'), 'key=value\n');
  await writeFile(p('etc/shared.conf'), SHARED);
  await writeFile(p('usr/lib/libfoo.so.1'), 'libfoo v1\n');
  await writeFile(p('usr/lib/libbar.so'), Buffer.alloc(20_000, 'b'));
  await writeFile(p('usr/lib/big.so'), Buffer.alloc(3 * 1024 * 1024 + 1, 'x'));
  await symlink('../lib/libfoo.so.1', p('usr/bin/tool'));
  await writeFile(p('hard/a'), 'linked\n');
  await link(p('hard/a'), p('hard/b'));
  await writeFile(p('wh/gone-file'), 'x\n');
  await writeFile(p('wh/keep'), 'kept\n');
  await writeFile(p('wh/gone-dir/a'), 'a\n');
  await writeFile(p('wh/gone-dir/sub/b'), 'b\n');
  await writeFile(p('tc/f2d'), 'a file\n');
  await writeFile(p('tc/d2f/x'), 'x\n');
  await writeFile(p('opq/old1'), 'old\n');
  await writeFile(p('opq/sub/old2'), 'old\n');
  await writeFile(p('redo/old'), 'old\n');
  await runOk('mkfifo', [p('devs/fifo')]);
  await runOk('mknod', ['-m', '0666', p('devs/null'), 'c', '1', '3']);
  for (let i = 0; i < 40; i++) await writeFile(p(`many/f${i}.txt`), `${i}\n`.repeat(i * 40));
  await writeFile(p('dir with spaces/ünï [x].txt'), 'unicode\n');
  await writeFile(p('.hidden'), 'dot\n');
  await writeFile(p('xattr/f'), 'xattr\n');
  await runOk('setfattr', ['-n', 'user.note', '-v', 'one', p('xattr/f')]);
  await writeFile(p('data/same-meta'), 'AAAA\n');
  await writeFile(p('data/same-content'), 'CCCC\n');
  for (const f of ['data/same-meta', 'data/same-content']) await runOk('touch', ['-d', OLD.toISOString(), p(f)]);
}

/** Layer 2: whiteouts of a file and a tree, type changes, content, mode and xattr changes. */
async function changes(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  await rm(p('wh/gone-file'));
  await rm(p('wh/gone-dir'), { recursive: true });
  await rm(p('tc/f2d'));
  await mkdir(p('tc/f2d'));
  await writeFile(p('tc/f2d/inner'), 'now a dir\n');
  await rm(p('tc/d2f'), { recursive: true });
  await writeFile(p('tc/d2f'), 'now a file\n');
  await writeFile(p('etc/hostname'), 'top\n');
  await chmod(p('etc/config'), 0o600);
  await writeFile(p('usr/lib/libfoo.so.1'), 'libfoo v2\n');
  await writeFile(p('etc/new'), 'new\n');
  await runOk('setfattr', ['-n', 'user.note', '-v', 'two', p('xattr/f')]);
}

/** Layer 3: a directory becomes a file again, a removed directory comes back, shared content elsewhere. */
async function retype(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  await rm(p('tc/f2d'), { recursive: true });
  await writeFile(p('tc/f2d'), 'a file again\n');
  await mkdir(p('wh/gone-dir'));
  await writeFile(p('wh/gone-dir/again'), 'again\n');
  await mkdir(p('opt'));
  await writeFile(p('opt/copy.conf'), SHARED);
}

/** Layer 4 (raw): an opaque directory, whiteout and re-creation in one layer, implicit parents, ns mtimes. */
const rawLayer = {
  entries: [
    { name: 'opq/', type: 'directory' as const },
    { name: 'opq/.wh..wh..opq', content: '' },
    { name: 'opq/new', content: 'new\n' },
    { name: 'redo/.wh.old', content: '' },
    { name: 'redo/', type: 'directory' as const, mode: 0o750 },
    { name: 'redo/new', content: 'new\n' },
    { name: 'implicit/deep/file', content: 'no parent records\n' },
    { name: 'ns/', type: 'directory' as const, pax: { mtime: '1700000000.123456789' } },
    { name: 'ns/file', content: SHARED, pax: { mtime: '1700000000.123456789' } },
    { name: 'ns/hl', type: 'link' as const, linkname: 'ns/file' },
  ],
};

/** Image b, layer 3: on top of a's first two layers. */
async function bChanges(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  await rm(p('etc/config'));
  await writeFile(p('etc/b-only'), 'b\n');
  await chmod(p('usr/lib/libbar.so'), 0o755);
  await mkdir(p('opt'));
  await writeFile(p('opt/copy.conf'), SHARED);
}

/** Image b, layer 4 (raw): same metadata with other bytes, the same bytes rewritten, an opaque usr/lib. */
const bRawLayer = {
  entries: [
    { name: 'data/same-meta', content: 'BBBB\n', mtime: OLD },
    { name: 'data/same-content', content: 'CCCC\n', mtime: OLD },
    { name: 'usr/lib/', type: 'directory' as const },
    { name: 'usr/lib/.wh..wh..opq', content: '' },
    { name: 'usr/lib/libnew.so', content: 'new lib\n' },
  ],
};

type Snap = Map<string, TreeEntry & { ns: string }>;

/** Snapshot of a tree with nanosecond mtimes (treeSnapshot keeps whole seconds). */
async function snapshot(dir: string): Promise<Snap> {
  const tree = await treeSnapshot(dir);
  const ns = new Map<string, string>();
  const out = await runOk('find', ['.', '-printf', '%p\\0%T@\\0'], { cwd: dir });
  const parts = out.stdout.split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) ns.set(parts[i] === '.' ? '/' : parts[i]!.slice(1), parts[i + 1]!);
  return new Map(tree.map((e) => [e.path, { ...e, ns: ns.get(e.path)! }]));
}

const FIELDS = ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'linkname', 'rdevMajor', 'rdevMinor', 'ns'] as const;
const differs = (a: TreeEntry & { ns: string }, b: TreeEntry & { ns: string }) =>
  FIELDS.some((f) => a[f] !== b[f]) || JSON.stringify(Object.entries(a.xattrs).sort()) !== JSON.stringify(Object.entries(b.xattrs).sort());
const parentOf = (p: string) => (p.lastIndexOf('/') === 0 ? '/' : p.slice(0, p.lastIndexOf('/')));

/** docker diff of two trees: A for everything new, D for the topmost removed paths, C for changed entries. */
function treeDiff(from: Snap, to: Snap): string[] {
  const out: string[] = [];
  for (const [p, e] of to) if (p !== '/' && (!from.has(p) ? out.push(`A ${p}`) : differs(from.get(p)!, e) && out.push(`C ${p}`)));
  for (const p of from.keys()) if (!to.has(p) && to.get(parentOf(p))?.type === 'dir') out.push(`D ${p}`);
  return out.sort((a, b) => (a.slice(2) < b.slice(2) ? -1 : 1));
}

const lines = (s: string) => s.split('\n').filter(Boolean);
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe.runIf(canMount)('layers, which, diff and find from the index', () => {
  let work: string;
  let cleanup: () => Promise<void>;
  let root: string;
  let layout: string;
  const env = () => ({ LAMINA_RUN_DIR: path.join(work, 'run') });
  const mounted: string[] = [];
  /** Snapshots of the mounted images: a-1..a-3, a, b-3, b (prefix images as each layer left them). */
  const snaps = new Map<string, Snap>();
  const mnt = (tag: string) => path.join(work, 'mnt', tag);
  /** Paths each layer's tar records (markers included), by image tag and layer number. */
  const recorded = new Map<string, Set<string>[]>();
  const layerBlobs = new Map<string, string[]>();
  const members_ = new Map<string, string>(); // blob + path → member name as the tar writes it
  const blobs: string[] = [];
  /** The content of `p` as layer `n` of `tag` stores it (all test files are text). */
  const layerFile = async (tag: string, n: number, p: string) => {
    const blob = layerBlobs.get(tag)![n - 1]!;
    return (await runOk('tar', ['-xzOf', blob, members_.get(`${blob}\0${p}`)!])).stdout;
  };
  const ok = (...args: string[]) => laminaOk(root, args, { env: env() });

  beforeAll(async () => {
    ({ dir: work, cleanup } = await tempDir('lamina-layer-queries-'));
    layout = path.join(work, 'layout');
    root = path.join(work, 'store');
    await buildOciLayout(layout, [base, changes, retype, rawLayer], { tag: 'a' });
    await tagLayerPrefixes(layout, 'a');
    await buildOciLayout(layout, [bChanges, bRawLayer], { tag: 'b', from: 'a-2' });
    await tagLayerPrefixes(layout, 'b');
    await ok('load', '-i', layout);
    // Bare tags in a layout load untagged (as with docker): name each image after its tag.
    for (const tag of ['a', 'b'].flatMap((t) => [t, `${t}-1`, `${t}-2`, `${t}-3`])) {
      await ok('tag', (await readOciImage(layout, tag)).manifest.config.digest, tag);
    }
    for (const tag of ['a', 'b']) {
      const { manifest } = await readOciImage(layout, tag);
      const sets: Set<string>[] = [];
      for (const l of manifest.layers) {
        const blob = path.join(layout, 'blobs', ...l.digest.split(':'));
        const members = lines((await runOk('tar', ['-tzf', blob])).stdout);
        for (const m of members) members_.set(`${blob}\0/${m.replace(/^\.?\/+/, '').replace(/\/$/, '')}`, m);
        sets.push(new Set(members.map((n) => `/${n.replace(/^\.?\/+/, '').replace(/\/$/, '')}`)));
        blobs.push(blob);
      }
      recorded.set(tag, sets);
      layerBlobs.set(tag, blobs.splice(0));
    }
    for (const tag of ['a-1', 'a-2', 'a-3', 'a', 'b-3', 'b']) {
      await mkdir(mnt(tag), { recursive: true });
      await ok('mount', '--read-only', `${tag}`, mnt(tag));
      mounted.push(mnt(tag));
      snaps.set(tag, await snapshot(mnt(tag)));
    }
    // b's first two layers are a's.
    snaps.set('b-1', snaps.get('a-1')!);
    snaps.set('b-2', snaps.get('a-2')!);
  }, 600_000);

  afterAll(async () => {
    if (!work) return;
    for (const m of mounted) {
      const r = await lamina(root, ['umount', m], { env: env() });
      if (r.code !== 0) await run('umount', ['-l', m]);
    }
    const left = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8')).filter((m) => m.mountPoint.startsWith(work));
    for (const m of left) await run('umount', ['-l', m.mountPoint]);
    expect(left).toEqual([]);
    await cleanup();
  }, 120_000);

  /** The image as layer n of `tag` left it: its prefix tag, the image itself, or nothing for n = 0. */
  const prefix = (tag: string, n: number, count: number): Snap =>
    n === 0 ? new Map([['/', snaps.get('a')!.get('/')!]]) : snaps.get(n === count ? tag : `${tag}-${n}`)!;

  it('sanity: the mounts show what the layers were built to do', () => {
    const a = snaps.get('a')!;
    for (const gone of ['/wh/gone-file', '/wh/gone-dir/a', '/opq/old1', '/redo/old', '/tc/d2f/x']) expect(a.has(gone), gone).toBe(false);
    expect(a.get('/tc/f2d')).toMatchObject({ type: 'file' });
    expect(a.get('/implicit/deep')).toMatchObject({ type: 'dir', mode: 0o755 });
    expect(a.get('/ns/hl')).toMatchObject({ nlink: 2, hardlinkGroup: '/ns/file' });
    expect(snaps.get('b')!.has('/usr/lib/libfoo.so.1')).toBe(false);
  });

  it.each(['a', 'b'])('diff %s --layer N lists exactly what each layer changed in the mounts', async (tag) => {
    const count = recorded.get(tag)!.length;
    for (let n = 1; n <= count; n++) {
      const before = prefix(tag, n - 1, count);
      const after = prefix(tag, n, count);
      const got = lines(await ok('diff', tag, '--layer', String(n)));
      const byPath = new Map(got.map((l) => [l.slice(2), l[0]]));
      for (const [p, kind] of byPath) {
        const where = `layer ${n}: ${kind} ${p}`;
        if (kind === 'A') expect([before.has(p), after.has(p)], where).toEqual([false, true]);
        if (kind === 'C') expect([before.has(p), after.has(p)], where).toEqual([true, true]);
        if (kind === 'D') expect([before.has(p), after.has(p), after.get(parentOf(p))?.type], where).toEqual([true, false, 'dir']);
      }
      // Everything the mounts show changed is listed (a removed path by itself or by an ancestor's D or C)...
      for (const line of treeDiff(before, after)) {
        const p = line.slice(2);
        const covered = byPath.get(p) === line[0] || (line[0] === 'D' && [...byPath].some(([q, k]) => k !== 'A' && p.startsWith(`${q}/`)));
        expect(covered, `layer ${n}: ${line} missing from ${JSON.stringify(got)}`).toBe(true);
      }
      // ...and so is every entry the layer's tar records that the merged view shows, changed or not.
      for (const p of recorded.get(tag)![n - 1]!) {
        if (p !== '/' && after.has(p) && !byPath.has(p)) expect.fail(`layer ${n} records ${p}, not listed`);
      }
      expect(got, `layer ${n}`).toEqual([...got].sort((x, y) => (x.slice(2) < y.slice(2) ? -1 : 1)));
    }
  }, 120_000);

  it.each(['a', 'b'])('layers %s: history of each layer and the counts diff --layer lists', async (tag) => {
    const rows = lines(await ok('layers', tag, '--format', 'json')).map((l) => JSON.parse(l));
    const { config } = await readOciImage(layout, tag);
    const history = (config.history ?? []).filter((h) => !h.empty_layer);
    expect(rows.map((r) => r.Layer)).toEqual(history.map((_, i) => i + 1));
    expect(rows.map((r) => r.DiffID)).toEqual(config.rootfs.diff_ids);
    for (const r of rows) {
      expect(r.CreatedBy).toBe(history[r.Layer - 1]!.created_by);
      const got = lines(await ok('diff', tag, '--layer', String(r.Layer)));
      const count = (k: string) => got.filter((l) => l.startsWith(`${k} `)).length;
      expect([r.Added, r.Changed, r.Deleted], `layer ${r.Layer}`).toEqual([count('A'), count('C'), count('D')]);
    }
    expect(rows.some((r) => r.Deleted > 0) && rows.every((r) => r.Added + r.Changed > 0)).toBe(true);
    const text = lines(await ok('layers', tag));
    expect(text[0]).toMatch(/^LAYER +DIFF ID +CREATED +CREATED BY +SIZE +ADDED +CHANGED +DELETED +COMMENT$/);
    expect(text).toHaveLength(rows.length + 1);
  }, 60_000);

  it('diff IMAGE IMAGE equals the difference of the two mounts, content compared by digest', async () => {
    for (const [x, y] of [['a', 'b'], ['b', 'a'], ['a-1', 'a'], ['a', 'a']]) {
      const got = lines(await ok('diff', x, y));
      expect(got, `${x} → ${y}`).toEqual(treeDiff(snaps.get(x)!, snaps.get(y)!));
    }
    const ab = lines(await ok('diff', 'a', 'b'));
    expect(ab).toContain('C /data/same-meta'); // same size, mode and mtime: only the bytes differ
    expect(ab).not.toContain('C /data/same-content'); // another layer's entry with the same bytes and metadata
    expect(ab).toContain('D /usr/lib/libfoo.so.1');
    const json = lines(await ok('diff', 'a', 'b', '--format', 'json')).map((l) => JSON.parse(l));
    expect(json.map((c) => `${c.Kind} ${c.Path}`)).toEqual(ab);
  }, 60_000);

  it('which: the providing layer has the bytes the mount shows; deletions and shadows match the prefix mounts', async () => {
    const final = snaps.get('a')!;
    const count = recorded.get('a')!.length;
    const everPresent = new Set([1, 2, 3].flatMap((n) => [...snaps.get(`a-${n}`)!.keys()]));
    const paths = [...new Set([...final.keys(), ...everPresent, '/no/such/path'])].sort();
    const r = await lamina(root, ['which', 'a', ...paths, '--format', 'json'], { env: env() });
    expect(r.code).toBe(1); // /no/such/path is in no layer
    const answers = lines(r.stdout).map((l) => JSON.parse(l));
    expect(answers.map((a) => a.path)).toEqual(paths);
    let shadowed = 0;
    for (const a of answers) {
      const p = a.path as string;
      const where = `${p}: ${JSON.stringify(a)}`;
      if (p === '/no/such/path') {
        expect(a.status).toBe('absent');
        continue;
      }
      if (final.has(p)) {
        expect(a.status, where).toBe('present');
        expect(a.type, where).toBe(final.get(p)!.type);
        if (a.implicit) {
          expect(recorded.get('a')!.some((s) => s.has(p)), where).toBe(false);
        } else if (p !== '/') {
          const k = a.by.layer as number;
          expect(recorded.get('a')![k - 1]!.has(p), where).toBe(true);
          const e = final.get(p)!;
          // a hardlink member has no data of its own: its target's member has it
          if (e.type === 'file') expect(sha256(await layerFile('a', k, a.hardlinkTo ?? p)), where).toBe(e.sha256);
          // the path stayed in view from the lowest layer it shadows up to the top
          const from = Math.min(k, ...a.below.map((b: { layer: number }) => b.layer));
          for (let n = from; n <= count; n++) expect(prefix('a', n, count).has(p), `${where} in layer ${n}`).toBe(true);
          for (const b of a.below) expect(recorded.get('a')![b.layer - 1]!.has(p), `${where} shadows ${b.layer}`).toBe(true);
          shadowed += a.below.length ? 1 : 0;
        }
      } else {
        expect(a.status, where).toBe('deleted');
        const k = a.by.layer as number;
        expect([prefix('a', k - 1, count).has(p), prefix('a', k, count).has(p)], where).toEqual([true, false]);
        for (let n = k; n <= count; n++) expect(prefix('a', n, count).has(p), `${where} in layer ${n}`).toBe(false);
        expect(a.below.length, where).toBeGreaterThan(0);
      }
    }
    expect(shadowed).toBeGreaterThan(3);
    const text = lines(await lamina(root, ['which', 'a', '/etc/hostname', '/wh/gone-file', '/opq/old1', '/ns/hl', '/implicit', '/nope'], { env: env() }).then((x) => x.stdout));
    expect(text).toEqual([
      '/etc/hostname: layer 2 (file), shadows layer 1',
      '/wh/gone-file: deleted by layer 2 (whiteout), hiding layer 1',
      '/opq/old1: deleted by layer 4 (opaque directory /opq), hiding layer 1',
      '/ns/hl: layer 4 (hardlink to /ns/file)',
      '/implicit: implicit directory (made by layer 4)',
      '/nope: in no layer',
    ]);
  }, 120_000);

  /**
   * GNU find's answer on a mount, as lamina prints paths. The root is left out: find names
   * it after the path it starts from ('.'), lamina after '/' (as `find /` would).
   */
  async function findOnMount(tag: string, args: string[]): Promise<string[]> {
    const out = await runOk('find', ['.', '-mindepth', '1', ...args], { cwd: mnt(tag) });
    return lines(out.stdout).map((l) => l.slice(1)).sort();
  }

  it.each<[string, string[], string[]]>([
    ['--name', ['--name', '*.so*'], ['-name', '*.so*']],
    ['--name with brackets and a class', ['--name', '[a-f]*[[:digit:]].txt'], ['-name', '[a-f]*[[:digit:]].txt']],
    ['--name with an escaped bracket', ['--name', '*\\[x]*'], ['-name', '*\\[x]*']],
    ['--name matching dotfiles', ['--name', '.*'], ['-name', '.*']],
    ['--path', ['--path', '/usr/*'], ['-path', './usr/*']],
    ['--type d', ['--type', 'd'], ['-type', 'd']],
    ['--type l', ['--type', 'l'], ['-type', 'l']],
    ['--type p', ['--type', 'p'], ['-type', 'p']],
    ['--type c', ['--type', 'c'], ['-type', 'c']],
    ['--size +N (512-byte blocks, rounded up)', ['--size', '+1'], ['-size', '+1']],
    ['--size -Nk', ['--size', '-2k'], ['-size', '-2k']],
    ['--size Nc', ['--size', '5c'], ['-size', '5c']],
    ['--size +NM', ['--size', '+2M'], ['-size', '+2M']],
    ['all tests together', ['--type', 'f', '--path', '/many/*', '--name', 'f1*', '--size', '+1'],
      ['-type', 'f', '-path', './many/*', '-name', 'f1*', '-size', '+1']],
  ])('find %s equals GNU find on the mounts', async (_t, ours, theirs) => {
    let found = 0;
    for (const tag of ['a', 'b']) {
      const got = lines(await ok('find', '--image', tag, ...ours)).filter((p) => p !== '/').sort();
      const want = await findOnMount(tag, theirs);
      expect(got, `${tag}: find ${theirs.join(' ')}`).toEqual(want);
      found += want.length;
    }
    expect(found, `find ${theirs.join(' ')} finds something`).toBeGreaterThan(0);
  }, 60_000);

  it('find lists the root as /', async () => {
    expect(lines(await ok('find', '--image', 'a', '--path', '/'))).toEqual(['/']);
    expect(lines(await ok('find', '--image', 'a', '--type', 'd', '--name', '/'))).toEqual(['/']);
    expect(lines(await ok('find', '--image', 'a', '--type', 'f', '--path', '/'))).toEqual([]);
  });

  it('find --digest finds identical content across images; every image without --image', async () => {
    const digest = sha256(SHARED);
    const want = ['a', 'b'].flatMap((tag) => [...snaps.get(tag)!.values()].filter((e) => e.sha256 === digest).map((e) => `${tag} ${e.path}`)).sort();
    expect(want).toEqual(['a /etc/shared.conf', 'a /ns/file', 'a /ns/hl', 'a /opt/copy.conf', 'b /etc/shared.conf', 'b /opt/copy.conf']);
    const got = lines(await ok('find', '--image', 'a', '--image', 'b', '--digest', digest)).sort();
    expect(got).toEqual(want);
    const all = lines(await ok('find', '--digest', `sha256:${digest}`, '--format', 'json')).map((l) => JSON.parse(l));
    const named = (image: string) => all.filter((f) => f.Image === `${image}:latest`).map((f) => `${image} ${f.Path}`);
    expect([...named('a'), ...named('b')].sort()).toEqual(want);
    expect(named('a-3').sort()).toEqual(['a-3 /etc/shared.conf', 'a-3 /opt/copy.conf']);
    expect(all.every((f) => f.Digest === `sha256:${digest}` && f.Type === 'file' && f.Size === SHARED.length)).toBe(true);
    expect(all.find((f) => f.Image === 'a:latest' && f.Path === '/ns/hl')).toMatchObject({ Layer: 4 });
  }, 60_000);

  it('bad input: one-line errors naming the thing and the reason', async () => {
    const bad = async (args: string[], msg: RegExp) => {
      const r = await lamina(root, args, { env: env() });
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(msg);
    };
    await bad(['diff', 'a', '--layer', '9'], /--layer 9: image a has 4 layers/);
    await bad(['diff', 'a', '--layer', 'x'], /--layer "x": want a layer number/);
    await bad(['diff', 'a'], /a is an image, not a container/);
    await bad(['diff', 'a', 'nosuch'], /No such image: nosuch/);
    await bad(['which', 'a', '/etc/../x'], /'\.\.' is not allowed/);
    await bad(['find', '--type', 'x'], /--type "x": want one of f, d, l, c, b, p/);
    await bad(['find', '--size', '1X'], /--size "1X"/);
    await bad(['find', '--digest', 'abc'], /--digest "abc": want sha256:<64 hex digits>/);
    await bad(['layers', 'nosuch'], /No such image: nosuch/);
  }, 60_000);
});
