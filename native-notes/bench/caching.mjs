#!/usr/bin/env node
// Measures what entry/attr timeouts and kernel_cache buy on a lamina FUSE mount.
// Usage: npm run build && node native-notes/bench/caching.mjs [distDir] [runs]
// (root, /dev/fuse). Results are recorded in native-notes/caching.md.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = path.resolve(process.argv[2] ?? 'dist');
const RUNS = Number(process.argv[3] ?? 7);
const { startMountServer, unmount } = await import(pathToFileURL(path.join(dist, 'fuse/mount-process.js')).href);

const DIRS = 50;
const FILES = 100;
const BIG = 100 * 2 ** 20;

/** A tree like a small distro: DIRS dirs of FILES 300-byte files, plus one 100 MiB file. */
async function writeTree(dir) {
  const small = Buffer.alloc(300, 0x61);
  const entries = [];
  let ino = 1;
  const node = (type, size, extra = {}) => ({ ino: ino++, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0,
    size, mtimeSec: 1_700_000_000, mtimeNsec: 0, nlink: type === 'dir' ? 2 : 1, ...extra });
  entries.push({ path: '/', node: node('dir', 0, { nlink: 2 + DIRS }) });
  for (let d = 0; d < DIRS; d++) {
    entries.push({ path: `/d${d}`, node: node('dir', 0) });
    for (let f = 0; f < FILES; f++) {
      entries.push({ path: `/d${d}/f${f}`, node: node('file', small.length, { data: { file: path.join(dir, 'small.bin'), offset: 0 } }) });
    }
  }
  entries.push({ path: '/big', node: node('file', BIG, { data: { file: path.join(dir, 'big.bin'), offset: 0 } }) });
  await writeFile(path.join(dir, 'small.bin'), small);
  await writeFile(path.join(dir, 'big.bin'), Buffer.alloc(BIG, 0x62));
  await writeFile(path.join(dir, 'tree.json'), JSON.stringify({ entries }));
  return entries.length;
}

function time(cmd) {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => execFile('sh', ['-c', cmd], { maxBuffer: 1 << 26 }, (err) =>
    (err ? reject(err) : resolve(Number(process.hrtime.bigint() - t0) / 1e6))));
}
const IDLE_MS = 1500;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const WORKLOADS = {
  'find': (m) => `find '${m}' > /dev/null`,
  'find | xargs stat': (m) => `find '${m}' -print0 | xargs -0 stat > /dev/null`,
  'cat 100 MiB': (m) => `cat '${m}/big' > /dev/null`,
};

async function measure(tmp, cache) {
  const mnt = path.join(tmp, `mnt-${cache}`);
  await mkdir(mnt, { recursive: true });
  const out = {};
  const opts = { runDir: path.join(tmp, 'run'), serverEntry: path.join(dist, 'fuse/serve-mount.js') };
  for (const [name, cmd] of Object.entries(WORKLOADS)) {
    await startMountServer(mnt, { kind: 'memory', file: path.join(tmp, 'tree.json') }, { cache }, opts);
    try {
      const cold = await time(cmd(mnt));
      const warm = [];
      for (let i = 0; i < RUNS; i++) warm.push(await time(cmd(mnt)));
      const idle = []; // past libfuse's default 1 s timeouts
      for (let i = 0; i < Math.min(RUNS, 5); i++) idle.push(await sleep(IDLE_MS).then(() => time(cmd(mnt))));
      out[name] = { cold, warm: median(warm), idle: median(idle) };
    } finally {
      await unmount(mnt, opts);
    }
  }
  return out;
}

/** The same tree as plain files on the host, for scale. */
async function hostBaseline(tmp) {
  const host = path.join(tmp, 'host');
  for (let d = 0; d < DIRS; d++) {
    await mkdir(path.join(host, `d${d}`), { recursive: true });
    for (let f = 0; f < FILES; f++) await writeFile(path.join(host, `d${d}`, `f${f}`), Buffer.alloc(300, 0x61));
  }
  await time(`cp '${tmp}/big.bin' '${host}/big'`);
  for (const [w, cmd] of Object.entries(WORKLOADS)) {
    const warm = [];
    for (let i = 0; i < RUNS; i++) warm.push(await time(cmd(host)));
    console.log(`${'host fs'.padEnd(8)} ${w.padEnd(20)} warm ${median(warm).toFixed(1).padStart(8)} ms`);
  }
}

const tmp = await mkdtemp(path.join(os.tmpdir(), 'lamina-bench-'));
try {
  const n = await writeTree(tmp);
  await time(`cat '${tmp}/big.bin' > /dev/null`); // host page cache warm for every config
  console.log(`${n} entries, 100 MiB file, ${RUNS} warm runs (median), ${os.cpus().length} CPUs, ${os.release()}`);
  await hostBaseline(tmp);
  for (const cache of ['long', 'default', 'off']) {
    const r = await measure(tmp, cache);
    for (const [w, { cold, warm, idle }] of Object.entries(r)) {
      const f = (x) => `${x.toFixed(1).padStart(8)} ms`;
      console.log(`${cache.padEnd(8)} ${w.padEnd(20)} cold ${f(cold)}   warm ${f(warm)}   warm after ${IDLE_MS} ms idle ${f(idle)}`);
    }
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
