#!/usr/bin/env node
// How fast lamina answers layers / which / diff / find from the index, on a store of 20
// images of 5k-50k paths: 4 base images (2 layers each: a base and an update with
// whiteouts and an opaque directory) and 16 images built on them (1-3 more layers each).
// Layers are generated tars (small files), loaded from OCI layouts with `lamina load`'s code.
//
// Prints, for each question, the median and max of --runs runs in this process (the store
// open, SQLite and page caches warm, as for a service), the one-time costs (a view or a
// change set computed on first use, files hashed for --digest), and the wall time of the
// real CLI for a few of them (a fresh node process each: startup included).
//
// Usage: node bench/layer-queries.mjs [--runs 9] [--scale 1] [--keep] [--reuse DIR]   (npm run build first)
//   --keep leaves the work directory (and says where); --reuse DIR measures a kept one again.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import tar from 'tar-stream';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const dist = (p) => import(path.join(REPO, 'dist', p));
const { Store } = await dist('store/store.js');
const { load } = await dist('image/load.js');
const { layerReport } = await dist('image/layer-report.js');
const { whichPaths } = await dist('image/which.js');
const { diffImages, diffLayer } = await dist('image/image-diff.js');
const { findPaths } = await dist('image/find.js');
const { imageQueryData } = await dist('image/query-data.js');
const { QueryIndex } = await dist('store/query-index.js');

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(process.argv[i + 1]);
};
const RUNS = arg('runs', 9);
const SCALE = arg('scale', 1);
const REUSE = process.argv.includes('--reuse') ? process.argv[process.argv.indexOf('--reuse') + 1] : undefined;
const KEEP = process.argv.includes('--keep') || REUSE !== undefined;
const say = (s) => process.stderr.write(`${s}\n`);

// xorshift32: the same store on every host.
let seed = 0x2545f491;
const rand = () => {
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return seed / 2 ** 32;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

const TOPS = ['usr/lib/x86_64-linux-gnu', 'usr/lib/python3/dist-packages', 'usr/share/doc', 'usr/share/locale', 'usr/include',
  'usr/bin', 'etc', 'var/lib/dpkg/info', 'opt/app', 'srv/data'];
const STEMS = ['libssl', 'libcrypto', 'core', 'util', 'data', 'net', 'config', 'main', 'index', 'module', 'test', 'locale'];
const EXTS = ['.so', '.so.3', '.conf', '.py', '.h', '.txt', '.json', '.list', '', '.mo'];
const SHARED = Buffer.from('# the same openssl.cnf in every base image\n[openssl_init]\n');
const SHARED_DIGEST = `sha256:${createHash('sha256').update(SHARED).digest('hex')}`;

/** `count` new paths under `prefix`-rooted directories, as tar entries (directories first). */
function generateFiles(count, tag) {
  const dirs = new Set();
  const files = [];
  for (let i = 0; i < count; i++) {
    const top = pick(TOPS);
    const dir = `${top}/${pick(STEMS)}${Math.floor(rand() * 40)}`;
    dirs.add(dir);
    const name = `${pick(STEMS)}-${tag}-${i}${pick(EXTS)}`;
    const r = rand();
    if (r < 0.08) files.push({ name: `${dir}/${name}`, type: 'symlink', linkname: `../${pick(STEMS)}` });
    else files.push({ name: `${dir}/${name}`, size: r > 0.999 ? 2_000_000 : Math.floor(rand() * 3000) });
  }
  return { dirs, files };
}

/** Write a layer tar; returns its path. */
async function writeLayer(file, entries) {
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(file));
  const body = Buffer.alloc(2_000_000, 'x');
  for (const e of entries) {
    const h = { name: e.name, mode: e.type === 'directory' ? 0o755 : 0o644, mtime: new Date(1_700_000_000_000), type: e.type ?? 'file', linkname: e.linkname };
    if (h.type === 'file') {
      const data = e.data ?? body.subarray(0, e.size ?? 0);
      await new Promise((res, rej) => pack.entry({ ...h, size: data.length }, data, (err) => (err ? rej(err) : res())));
    } else await new Promise((res, rej) => pack.entry(h, (err) => (err ? rej(err) : res())));
  }
  pack.finalize();
  await done;
}

const dirEntries = (dirs) => {
  const all = new Set();
  for (const d of dirs) for (let p = d; p; p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '') all.add(p);
  return [...all].sort().map((name) => ({ name: `${name}/`, type: 'directory' }));
};

/** An OCI layout with one image: layer tars (uncompressed), config, manifest, index. */
async function writeLayout(dir, layers, tag) {
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (bytes) => {
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(path.join(dir, 'blobs', 'sha256', hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const descs = [];
  for (const [i, entries] of layers.entries()) {
    const tmp = path.join(dir, `layer-${i}.tar`);
    await writeLayer(tmp, entries);
    const hex = execFileSync('sha256sum', [tmp]).toString().slice(0, 64);
    const dest = path.join(dir, 'blobs', 'sha256', hex);
    execFileSync('mv', [tmp, dest]);
    descs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${hex}`, size: Number(execFileSync('stat', ['-c', '%s', dest]).toString()) });
  }
  const config = put(Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2026-01-01T00:00:00Z', config: {},
    rootfs: { type: 'layers', diff_ids: descs.map((d) => d.digest) },
    history: descs.map((_, i) => ({ created: '2026-01-01T00:00:00Z', created_by: `${tag} step ${i + 1}` })),
  })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: descs })));
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{
    mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': `bench/${tag}:1` } }] }));
}

/** A base: `n` paths, then an update layer changing 5%, whiting out 1% and making one directory opaque. */
function baseLayers(n, tag) {
  const { dirs, files } = generateFiles(n - 40, tag);
  const base = [...dirEntries([...dirs, 'etc/ssl']), { name: 'etc/ssl/openssl.cnf', data: SHARED }, ...files];
  const update = [...dirEntries(['usr/share/doc'])];
  for (const f of files) {
    const r = rand();
    if (r < 0.05 && f.type !== 'symlink') update.push({ ...f, size: (f.size ?? 0) + 1 });
    else if (r < 0.06) update.push({ name: `${path.dirname(f.name)}/.wh.${path.basename(f.name)}` });
  }
  const docDir = [...dirs].find((d) => d.startsWith('usr/share/doc/'));
  update.push({ name: `${docDir}/.wh..wh..opq` }, { name: `${docDir}/README`, size: 100 });
  return { layers: [base, update], files };
}

function appLayers(count, tag, baseFiles) {
  const layers = [];
  for (let i = 0; i < count; i++) {
    const { dirs, files } = generateFiles(Math.floor((1000 + rand() * 3000) * SCALE), `${tag}.${i}`);
    const wh = baseFiles.filter(() => rand() < 0.005).map((f) => ({ name: `${path.dirname(f.name)}/.wh.${path.basename(f.name)}` }));
    layers.push([...dirEntries(dirs), ...wh, ...files]);
  }
  return layers;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median wall and CPU milliseconds of `runs` calls; CPU time is what a busy host distorts least. */
async function timed(fn, runs = RUNS) {
  const ms = [];
  const cpu = [];
  let out;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    out = await fn();
    const d = process.cpuUsage(c);
    ms.push(performance.now() - t);
    cpu.push((d.user + d.system) / 1000);
  }
  return { median: median(ms), max: Math.max(...ms), cpu: median(cpu), out };
}

const work = REUSE ?? mkdtempSync(path.join(tmpdir(), 'lamina-bench-queries-'));
const root = path.join(work, 'store');
const rows = [];
const report = (what, r, extra = '') => {
  rows.push([what, `${r.median.toFixed(1)} ms`, `${r.cpu.toFixed(1)} ms`, extra]);
  say(`${what}: ${r.median.toFixed(1)} ms wall, ${r.cpu.toFixed(1)} ms CPU${extra ? ` (${extra})` : ''}`);
};

try {
  const store = await Store.open(root);
  const images = REUSE ? store.index.images().reverse().map((i) => ({ tag: store.index.tagsOf(i.id)[0], id: i.id })) : [];
  let t0 = performance.now();
  const sizes = [5000, 12000, 25000, 38000].map((n) => Math.floor(n * SCALE));
  for (const [b, n] of REUSE ? [] : sizes.entries()) {
    const base = baseLayers(n, `base${b}`);
    const builds = [{ tag: `base${b}`, layers: base.layers }];
    for (let a = 0; a < 4; a++) builds.push({ tag: `app${b}${a}`, layers: [...base.layers, ...appLayers(1 + (a % 3), `app${b}${a}`, base.files)] });
    for (const { tag, layers } of builds) {
      const dir = path.join(work, 'layouts', tag);
      await writeLayout(dir, layers, tag);
      const [img] = await load(store, dir);
      images.push({ tag: `bench/${tag}:1`, id: img.id });
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const paths = (id) => store.index.db.prepare('SELECT count(*) FROM view_entries WHERE image_id = ?').pluck().get(id);
  say(`built and loaded 20 images in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // One-time cost: each image's view rows and change set, computed on first use (one merge).
  const firstUse = [];
  const q = new QueryIndex(store.index.db);
  for (const img of images) {
    const t = performance.now();
    imageQueryData(store, q, img.id);
    firstUse.push(performance.now() - t);
    img.paths = paths(img.id);
  }
  const counts = images.map((i) => i.paths);
  say(`paths per image: ${Math.min(...counts)}..${Math.max(...counts)}, ${counts.reduce((a, b) => a + b, 0)} in all`);
  const biggest = images.reduce((a, b) => (b.paths > a.paths ? b : a));
  const layerCount = (img) => store.index.imageLayers(img.id).length;
  rows.push(['first use, per image: view rows + change set', `${median(firstUse).toFixed(0)} ms`, '', `once per image; max ${Math.max(...firstUse).toFixed(0)} ms (biggest)`]);

  const hashT = performance.now();
  const hashedBytes = { n: 0, layers: 0 };
  await findPaths(store, { digest: SHARED_DIGEST, onHashing: (layers, bytes) => Object.assign(hashedBytes, { n: bytes, layers }) });
  const hashMs = performance.now() - hashT;
  rows.push(['first --digest: hash every file of every layer', `${hashMs.toFixed(0)} ms`, '', `${hashedBytes.layers} layers, ${(hashedBytes.n / 1e6).toFixed(0)} MB, once`]);

  report(`layers (biggest image: ${biggest.paths} paths, ${layerCount(biggest)} layers)`, await timed(() => layerReport(store, biggest.tag)));
  const sample = store.index.db.prepare("SELECT '/' || path FROM view_entries WHERE image_id = ? AND path != '' ORDER BY path LIMIT 10 OFFSET 1000").pluck().all(biggest.id);
  report('which, 10 paths (biggest image)', await timed(() => whichPaths(store, biggest.tag, [...sample, '/no/such'])));
  report(`diff --layer ${layerCount(biggest)} (biggest image)`, await timed(() => diffLayer(store, biggest.tag, layerCount(biggest))), '');
  report('diff IMAGE IMAGE (siblings on one base)', await timed(() => diffImages(store, images.at(-2).tag, images.at(-1).tag)),
    `${(await diffImages(store, images.at(-2).tag, images.at(-1).tag)).length} changes`);
  report('diff IMAGE IMAGE (two different bases)', await timed(() => diffImages(store, images[0].tag, images.at(-1).tag)),
    `${(await diffImages(store, images[0].tag, images.at(-1).tag)).length} changes`);
  const finds = [
    ['find --name libssl-base3-1*  (20 images)', { name: 'libssl-base3-1*' }],
    ['find --name *.conf  (20 images)', { name: '*.conf' }],
    ['find --path /usr/include/* --name *.h  (20 images)', { path: '/usr/include/*', name: '*.h' }],
    ['find --type f --size +1M  (20 images)', { type: 'f', size: '+1M' }],
    ['find --digest D  (20 images)', { digest: SHARED_DIGEST }],
    ['find --type l --image BIGGEST', { type: 'l', images: [biggest.tag] }],
    ['find --name [[:digit:]]*.so  (20 images, class: JS fallback)', { name: '*[[:digit:]].so' }],
  ];
  for (const [what, o] of finds) {
    const r = await timed(() => findPaths(store, o));
    report(what, r, `${r.out.length} found`);
  }
  store.close();

  // The real CLI, a fresh process each time (node startup and module loading included).
  const bin = path.join(REPO, 'bin/lamina.js');
  const cli = async (args) => {
    const r = await timed(() => execFileSync(process.execPath, [bin, '--root', root, ...args], { maxBuffer: 1 << 28 }), 5);
    return { ...r, cpu: NaN }; // a child's CPU time is not this process's
  };
  report('CLI: lamina images (startup reference)', await cli(['images']));
  report('CLI: lamina layers BIGGEST', await cli(['layers', biggest.tag]));
  report('CLI: lamina which BIGGEST PATH', await cli(['which', biggest.tag, sample[0]]));
  report('CLI: lamina find --name libssl-base3-1*', await cli(['find', '--name', 'libssl-base3-1*']));
  report('CLI: lamina find --digest D', await cli(['find', '--digest', SHARED_DIGEST]));
  report('CLI: lamina diff SIBLING SIBLING', await cli(['diff', images.at(-2).tag, images.at(-1).tag]));

  const w = rows.reduce((m, r) => Math.max(m, r[0].length), 0);
  console.log(`\n${'question'.padEnd(w)}  wall        CPU         notes   (medians of ${RUNS} runs; load average ${os.loadavg()[0].toFixed(1)})`);
  for (const r of rows) console.log(`${r[0].padEnd(w)}  ${r[1].padEnd(10)}  ${r[2].padEnd(10)}  ${r[3]}`);
} finally {
  if (KEEP) say(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
