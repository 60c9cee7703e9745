#!/usr/bin/env node
// Writable-layer workloads on lamina, kernel overlayfs and fuse-overlayfs over the same layers.
//
// Usage (as root; the project built with tsc): node bench/containers.mjs [OPTIONS]
//   --runs N       timed runs per system and workload (>= 5, default 5; medians are reported)
//   --files N      files in the untar workload (default 20000)
//   --rm-files N   files in the lower directory removed with rm -rf (default 5000)
//   --base TAR     an extra bottom layer (scripts/bench passes its debootstrap base)
//   --tmp DIR      where the work dir is made (default /var/tmp: on disk, like a store)
//   --md FILE      append the table (Markdown) to FILE;  --json FILE  write the raw timings
//   --host-fs      work on the filesystem of --tmp itself, not on a fresh ext4 (see below)
//   --no-latency-hold  do not hold /dev/cpu_dma_latency at 0 while measuring
//   --only REGEX   only the workloads whose name matches
//   --keep         keep the work dir (mounts are always removed)
//
// The image: [base], layer A (a small tree and /srv/many: the lower directory for rm -rf),
// layer B (a 100 MiB random file, a whiteout, an opaque directory). lamina loads it as a
// docker-archive; each peer gets its own extraction of the same layer tars (tar -xp
// --numeric-owner --xattrs, whiteouts converted to overlayfs' format), as scripts/bench
// prepares them. Every timed run gets a fresh writable layer on every system: a new lamina
// container, or a new upperdir/workdir for overlayfs (redirect_dir=on,metacopy=on, like
// lamina's format) and fuse-overlayfs (default options). Systems take turns within each
// run. Everything lives on a fresh ext4 filesystem (a sparse image, loop-mounted) made for
// the run, and nothing is deleted until the end: ext4 skips inodes freed in the last ~30 s
// when it allocates new ones, and on a host where other work deletes many files, creating
// a file took 0.45 ms instead of 25 µs (perf: find_inode_bit -> recently_deleted), which
// would measure the host's history rather than the systems. The loop device does direct I/O
// (fsync costs what it does on the disk). /dev/cpu_dma_latency is held at 0, as in scripts/bench.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, writeSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const opt = { runs: 5, files: 20_000, rmFiles: 5_000, base: undefined, tmp: '/var/tmp', md: undefined, json: undefined, keep: false, hostFs: false, latency: true, only: undefined };
for (let a = process.argv.slice(2); a.length;) {
  const k = a.shift();
  const val = () => a.shift() ?? die(`${k} needs a value`);
  if (k === '--runs') opt.runs = Number(val());
  else if (k === '--files') opt.files = Number(val());
  else if (k === '--rm-files') opt.rmFiles = Number(val());
  else if (k === '--base') opt.base = path.resolve(val());
  else if (k === '--tmp') opt.tmp = path.resolve(val());
  else if (k === '--md') opt.md = path.resolve(val());
  else if (k === '--json') opt.json = path.resolve(val());
  else if (k === '--keep') opt.keep = true;
  else if (k === '--host-fs') opt.hostFs = true;
  else if (k === '--no-latency-hold') opt.latency = false;
  else if (k === '--only') opt.only = new RegExp(val());
  else if (k === '-h' || k === '--help') {
    console.log((await readFile(fileURLToPath(import.meta.url), 'utf8')).split('\n').slice(1, 15).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    process.exit(0);
  } else die(`unknown option ${k} (see --help)`);
}
if (!(opt.runs >= 1) || !(opt.files >= 1) || !(opt.rmFiles >= 1)) die('--runs, --files and --rm-files must be >= 1');
if (opt.runs < 5) {
  console.error(`bench/containers: --runs ${opt.runs}: medians need at least 5 runs; running 5`);
  opt.runs = 5;
}

function die(msg) {
  console.error(`bench/containers: ${msg}`);
  process.exit(1);
}
const say = (msg) => console.error(`bench/containers: ${msg}`);

/** Commands running now (each in its own process group), so an interrupt can stop them first. */
const running = new Map();
/** A command in a child process; resolves with its exit code and output, never throws. */
function sh(cmd, { env, timeout = 600_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, detached: true });
    const out = [];
    const err = [];
    const timer = setTimeout(() => stop(child, 'SIGKILL'), timeout);
    const closed = new Promise((r) => child.on('close', r));
    running.set(child, closed);
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}
/** Signals the process group of a command this script started. */
function stop(child, sig) {
  try {
    process.kill(-child.pid, sig);
  } catch {
    /* already gone */
  }
}
async function shOk(cmd, opts) {
  const r = await sh(cmd, opts);
  if (r.code !== 0) throw new Error(`${cmd} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}
const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

// ------------------------------------------------------------------ preconditions
if (process.getuid() !== 0) die('must run as root (mounts, drop_caches)');
if (!existsSync('/dev/fuse')) die('/dev/fuse missing');
if (!(await readFile('/proc/filesystems', 'utf8')).match(/\boverlay\n/)) await sh('modprobe overlay');
if (!(await readFile('/proc/filesystems', 'utf8')).match(/\boverlay\n/)) die('kernel overlayfs not available');
for (const t of ['fuse-overlayfs', 'fusermount3', 'setfattr', 'tar', ...(opt.hostFs ? [] : ['mkfs.ext4', 'losetup'])]) if ((await sh(`command -v ${t}`)).code !== 0) die(`${t} not found`);
if (!existsSync(path.join(REPO, 'dist/cli/main.js'))) die('dist/ missing: build first (npx tsc -p tsconfig.json)');
if (opt.base && !existsSync(opt.base)) die(`--base ${opt.base}: no such file`);

// ------------------------------------------------------------------ work dir, mounts, cleanup
await mkdir(opt.tmp, { recursive: true });
const TOP = await mkdtemp(path.join(opt.tmp, 'lamina-cbench-'));
/** Where the stores, extracted layers and upper dirs live: TOP/fs, a fresh ext4 (or TOP itself with --host-fs). */
const WORK = opt.hostFs ? TOP : path.join(TOP, 'fs');
const STORE = path.join(WORK, 'store');
const ENV = { LAMINA_RUN_DIR: path.join(TOP, 'run') };
const lamina = (args) => `${q(process.execPath)} ${q(path.join(REPO, 'bin/lamina.js'))} --root ${q(STORE)} ${args}`;
const SYSTEMS = ['lamina', 'overlayfs', 'fuse-overlayfs'];
const mnt = (s) => path.join(TOP, 'mnt', s);
/** fuse-overlayfs servers this script started (foreground, so their PIDs are ours). */
const fov = new Map();

async function mountedAt(dir) {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((l) => l.split(' ')[4] === dir);
}
async function down(s) {
  const m = mnt(s);
  if (await mountedAt(m)) {
    if (s === 'lamina') await sh(`${lamina(`umount ${q(m)}`)}`, { env: ENV });
    else if (s === 'overlayfs') await sh(`umount ${q(m)}`);
    else await sh(`fusermount3 -u ${q(m)}`);
    if (await mountedAt(m)) await sh(`umount -l ${q(m)}`);
  }
  const child = fov.get(s);
  if (child) {
    const exited = new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
    const t = setTimeout(() => child.kill('SIGTERM'), 5_000);
    await exited;
    clearTimeout(t);
    fov.delete(s);
  }
}
let cleaning;
let loopDev;
let latencyFd;
async function cleanup() {
  cleaning ??= (async () => {
    // stop the commands still running (an interrupt), or they write into what is removed below
    for (const [child, closed] of running) {
      stop(child, 'SIGTERM');
      const t = setTimeout(() => stop(child, 'SIGKILL'), 5_000);
      await closed;
      clearTimeout(t);
    }
    for (const s of SYSTEMS) await down(s).catch((e) => say(`unmounting ${s}: ${e.message}`));
    for (const c of fov.values()) c.kill('SIGKILL');
    const left = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4]).filter((p) => p?.startsWith(`${TOP}/`));
    for (const m of left.sort().reverse()) if ((await sh(`umount ${q(m)}`)).code !== 0) await sh(`umount -l ${q(m)}`); // the ext4 last
    if (loopDev) await sh(`losetup -d ${q(loopDev)}`);
    if (latencyFd !== undefined) closeSync(latencyFd);
    if (opt.keep) say(`work dir kept: ${TOP}${opt.hostFs ? '' : ` (the filesystem image: ${TOP}/fs.img)`}`);
    else await rm(TOP, { recursive: true, force: true }).catch((e) => say(`removing ${TOP}: ${e.message}`));
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void cleanup().then(() => process.exit(130)));

// ------------------------------------------------------------------ the layers
const MiB = 2 ** 20;
const BIG = 'opt/bench/big.bin';
const MID = 50 * MiB + 4097; // the byte the copy-up workload writes
/** Deterministic file contents: `n` bytes derived from `seed`. */
const bytes = (seed, n) => {
  const out = Buffer.alloc(n);
  let h = createHash('sha256').update(seed).digest();
  for (let o = 0; o < n; o += h.length, h = createHash('sha256').update(h).digest()) h.copy(out, o);
  return out;
};
/** `count` small files (0-2 KiB) in directories of 100 under `dir`. */
async function smallFiles(dir, count, seed) {
  for (let i = 0; i < count; i++) {
    const d = path.join(dir, `d${String(Math.floor(i / 100)).padStart(3, '0')}`);
    if (i % 100 === 0) await mkdir(d, { recursive: true });
    await writeFile(path.join(d, `f${String(i % 100).padStart(3, '0')}.txt`), bytes(`${seed}${i}`, (i * 7919) % 2048));
  }
}
const tarDir = (dir, file) => shOk(`tar --numeric-owner --sort=name --mtime=@1700000000 -C ${q(dir)} -cf ${q(file)} .`);

async function buildImage() {
  const img = path.join(WORK, 'img');
  await mkdir(img);
  // trees are built (and deleted) outside the benchmark's filesystem; only the tars go in
  const a = path.join(TOP, 'build', 'a');
  const b = path.join(TOP, 'build', 'b');
  for (const d of ['etc', 'usr/bin', 'srv/old', 'var/cache/app']) await mkdir(path.join(a, d), { recursive: true });
  await writeFile(path.join(a, 'etc/hostname'), 'lamina-cbench\n');
  await writeFile(path.join(a, 'etc/motd'), 'hello\n');
  for (let i = 0; i < 50; i++) await writeFile(path.join(a, `var/cache/app/c${i}`), bytes(`cache${i}`, 512));
  await smallFiles(path.join(a, 'srv/many'), opt.rmFiles, 'many');
  await tarDir(a, path.join(img, 'a.tar'));
  await mkdir(path.join(b, 'opt/bench'), { recursive: true });
  await mkdir(path.join(b, 'var/cache/app'), { recursive: true });
  await mkdir(path.join(b, 'etc'), { recursive: true });
  await writeFile(path.join(b, 'etc/.wh.motd'), '');
  await writeFile(path.join(b, 'var/cache/app/.wh..wh..opq'), '');
  await writeFile(path.join(b, 'var/cache/app/fresh'), 'fresh\n');
  await shOk(`head -c ${100 * MiB} /dev/urandom > ${q(path.join(b, BIG))}`);
  await tarDir(b, path.join(img, 'b.tar'));
  await rm(a, { recursive: true });
  await rm(b, { recursive: true });
  const layers = [...(opt.base ? [opt.base] : []), path.join(img, 'a.tar'), path.join(img, 'b.tar')];

  // lamina: a docker-archive (manifest.json, config with diff_ids), loaded into a fresh store
  const sha = async (f) => {
    const h = createHash('sha256');
    await pipeline(createReadStream(f), h);
    return h.digest('hex');
  };
  const arch = path.join(img, 'archive');
  await mkdir(arch);
  const names = layers.map((_, i) => `layer${i}.tar`);
  for (const [i, l] of layers.entries()) await symlink(l, path.join(arch, names[i]));
  const diffIds = [];
  for (const l of layers) diffIds.push(`sha256:${await sha(l)}`);
  await writeFile(path.join(arch, 'config.json'), JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  await writeFile(path.join(arch, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['lamina-cbench:latest'], Layers: names }]));
  await shOk(`tar -h -C ${q(arch)} -cf ${q(path.join(img, 'image.tar'))} manifest.json config.json ${names.join(' ')}`);
  await shOk(lamina(`load -i ${q(path.join(img, 'image.tar'))}`), { env: ENV });
  await rm(path.join(img, 'image.tar'));
  await rm(arch, { recursive: true });

  // peers: each its own extraction, whiteouts converted (as scripts/bench does it)
  for (const s of ['overlayfs', 'fuse-overlayfs']) {
    for (const [i, l] of layers.entries()) {
      const d = path.join(WORK, 'ext', s, String(i));
      await mkdir(d, { recursive: true });
      await shOk(`tar --numeric-owner --xattrs --xattrs-include='*' -xpf ${q(l)} -C ${q(d)}
        while IFS= read -r -d '' w; do
          if [ "\${w##*/}" = .wh..wh..opq ]; then rm -f "$w"; setfattr -n trusted.overlay.opaque -v y "\${w%/*}"
          else rm -f "$w"; mknod "\${w%/*}/\${w##*/.wh.}" c 0 0; fi
        done < <(find ${q(d)} -name '.wh.*' -print0)`);
    }
  }
  return layers.length;
}

// ------------------------------------------------------------------ fresh writable mounts
let fresh = 0;
async function up(s, nLayers) {
  const m = mnt(s);
  await mkdir(m, { recursive: true });
  if (s === 'lamina') return void (await shOk(lamina(`mount lamina-cbench:latest ${q(m)}`), { env: ENV }));
  const lowers = Array.from({ length: nLayers }, (_, i) => path.join(WORK, 'ext', s, String(nLayers - 1 - i))).join(':');
  const u = path.join(WORK, 'upper', `${s}-${++fresh}`);
  await mkdir(path.join(u, 'upper'), { recursive: true });
  await mkdir(path.join(u, 'work'));
  const o = `lowerdir=${lowers},upperdir=${u}/upper,workdir=${u}/work`;
  if (s === 'overlayfs') return void (await shOk(`mount -t overlay overlay -o ${q(`${o},redirect_dir=on,metacopy=on`)} ${q(m)}`));
  const child = spawn('fuse-overlayfs', ['-f', '-o', o, m], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b) => (err += b));
  fov.set(s, child);
  for (let i = 0; !(await mountedAt(m)); i++) {
    if (child.exitCode !== null || i > 500) throw new Error(`fuse-overlayfs did not mount: ${err.trim()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const dropCaches = () => shOk('sync && echo 3 > /proc/sys/vm/drop_caches');

// ------------------------------------------------------------------ workloads
const SRC_TAR = () => path.join(WORK, 'src', 'files.tar');
const WORKLOADS = [
  {
    name: 'first write into a 100 MiB lower file (copy-up), lower cached',
    // the lower file in the page cache, and free memory (else page reclaim is what is timed)
    prep: async (m) => shOk(`sync && echo 3 > /proc/sys/vm/drop_caches && cat ${q(`${m}/${BIG}`)} > /dev/null`),
    cmd: (m) => `printf X | dd of=${q(`${m}/${BIG}`)} bs=1 count=1 seek=${MID} conv=notrunc status=none`,
    check: async (m) => (await shOk(`dd if=${q(`${m}/${BIG}`)} bs=1 skip=${MID} count=1 status=none; stat -c %s ${q(`${m}/${BIG}`)}`)) === `X${100 * MiB}\n`,
  },
  {
    name: 'first write into a 100 MiB lower file (copy-up), cold',
    prep: () => dropCaches(),
    cmd: (m) => `printf X | dd of=${q(`${m}/${BIG}`)} bs=1 count=1 seek=${MID} conv=notrunc status=none`,
    check: async (m) => (await shOk(`dd if=${q(`${m}/${BIG}`)} bs=1 skip=${MID} count=1 status=none`)) === 'X',
  },
  {
    name: `untar ${opt.files.toLocaleString('en')} small files into the mount`,
    prep: (m) => shOk(`mkdir ${q(`${m}/untar`)} && cat ${q(SRC_TAR())} > /dev/null`),
    cmd: (m) => `tar -xf ${q(SRC_TAR())} -C ${q(`${m}/untar`)}`,
    check: async (m) => Number(await shOk(`find ${q(`${m}/untar`)} -type f | wc -l`)) === opt.files,
  },
  {
    name: `rm -rf a ${opt.rmFiles.toLocaleString('en')}-file lower directory, cold`,
    prep: () => dropCaches(),
    cmd: (m) => `rm -rf ${q(`${m}/srv/many`)}`,
    check: async (m) => !existsSync(`${m}/srv/many`) && (await shOk(`ls ${q(`${m}/srv`)}`)) === 'old\n',
  },
  {
    name: `rm -rf a ${opt.rmFiles.toLocaleString('en')}-file lower directory, after a walk`,
    prep: (m) => shOk(`find ${q(`${m}/srv/many`)} -type f | wc -l`),
    cmd: (m) => `rm -rf ${q(`${m}/srv/many`)}`,
    check: async (m) => !existsSync(`${m}/srv/many`),
  },
];

async function timed(cmd) {
  const t = process.hrtime.bigint();
  const r = await sh(cmd);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.code !== 0) throw new Error(`${cmd} exited ${r.code}: ${r.stderr.trim()}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (ms) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);

// ------------------------------------------------------------------ run
const results = [];
let failed = false;
try {
  const t0 = Date.now();
  if (!opt.hostFs) {
    // sized for everything a run keeps (runs × systems × (2 copy-ups + an untar)) and the layers;
    // inode tables initialised now, not by ext4lazyinit in the background while timing
    const gib = Math.ceil((opt.runs * 3 * (200 + opt.files / 400) + 1500 + (opt.base ? 1000 : 0)) / 1024) + 2;
    await shOk(`truncate -s ${gib}G ${q(`${TOP}/fs.img`)} && mkfs.ext4 -q -F -N ${Math.max(1_000_000, opt.runs * 3 * (opt.files + 2 * opt.rmFiles) * 1.5 | 0)} -E lazy_itable_init=0,lazy_journal_init=0 ${q(`${TOP}/fs.img`)}`);
    await mkdir(WORK);
    // direct I/O: no second page cache under it, so fsync costs what it costs on the host's disk
    loopDev = (await shOk(`losetup --direct-io=on -f --show ${q(`${TOP}/fs.img`)}`)).trim();
    await shOk(`mount ${q(loopDev)} ${q(WORK)}`);
  }
  if (opt.latency) {
    // as scripts/bench: CPU wake-up latency otherwise dominates FUSE round trips on an idle host
    latencyFd = openSync('/dev/cpu_dma_latency', 'w');
    writeSync(latencyFd, Buffer.alloc(4));
  }
  say(`work dir ${TOP}${opt.hostFs ? '' : ` (a fresh ext4 at ${WORK})`}; building the image${opt.base ? ` (base ${opt.base})` : ''}`);
  const nLayers = await buildImage();
  await smallFiles(path.join(TOP, 'build', 'files'), opt.files, 'untar');
  await mkdir(path.dirname(SRC_TAR()));
  await tarDir(path.join(TOP, 'build', 'files'), SRC_TAR());
  await rm(path.join(TOP, 'build'), { recursive: true });
  await shOk('sync');
  say(`${SYSTEMS.join(', ')}: ${WORKLOADS.length} workloads × ${opt.runs} runs, a fresh writable layer each`);
  for (const w of WORKLOADS.filter((x) => !opt.only || opt.only.test(x.name))) {
    const times = Object.fromEntries(SYSTEMS.map((s) => [s, []]));
    for (let run = 0; run < opt.runs; run++) {
      for (const s of run % 2 ? [...SYSTEMS].reverse() : SYSTEMS) {
        await up(s, nLayers);
        try {
          await w.prep(mnt(s));
          await shOk('sync'); // no writeback of earlier runs' data during this one
          times[s].push(await timed(w.cmd(mnt(s))));
          if (!(await w.check(mnt(s)))) throw new Error(`${s}: wrong result after "${w.name}"`);
        } finally {
          await down(s);
        }
      }
    }
    results.push({ workload: w.name, times });
    say(`  ${w.name}: ${SYSTEMS.map((s) => `${s}=${fmt(median(times[s]))}`).join(' ')}`);
  }
  const header = ['workload', ...SYSTEMS.map((s) => `${s} median`), 'lamina/overlayfs', 'lamina/fuse-overlayfs'];
  const lines = results.map((r) => {
    const m = Object.fromEntries(SYSTEMS.map((s) => [s, median(r.times[s])]));
    return [r.workload, ...SYSTEMS.map((s) => fmt(m[s])), `${(m.lamina / m.overlayfs).toFixed(2)}×`, `${(m.lamina / m['fuse-overlayfs']).toFixed(2)}×`];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (c) => `| ${c.map((x, i) => (i ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  const table = [row(header), rule, ...lines.map(row)].join('\n');
  const [fovVersion] = (await shOk('fuse-overlayfs --version 2>/dev/null | sed -n "s/^fuse-overlayfs: version //p"')).split('\n');
  const notes = [
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; ${os.cpus()[0]?.model}, ${os.cpus().length} CPUs, kernel ${os.release()}; node ${process.version}, fuse-overlayfs ${fovVersion}`,
    `load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${opt.runs} runs per cell, medians; ratios: lamina time / peer time (>1 = lamina slower)`,
    `${opt.hostFs ? `on the host filesystem of ${opt.tmp}` : 'on a fresh ext4 (loop device, direct I/O)'}; /dev/cpu_dma_latency ${opt.latency ? 'held at 0' : 'not held'}; sync before every timed run`,
    `total ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  ];
  console.log(`\n${table}\n\n${notes.join('\n')}`);
  if (opt.md) await appendFile(opt.md, `\n## Writable container layers: lamina against kernel overlayfs and fuse-overlayfs\n\n${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  if (opt.json) await writeFile(opt.json, `${results.map((r) => JSON.stringify(r)).join('\n')}\n`);
} catch (err) {
  failed = true;
  console.error(`bench/containers: ${err.stack ?? err}`);
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);
