#!/usr/bin/env node
// Where lamina's time goes on one benchmark workload, next to fuse-overlayfs.
// Run by `scripts/bench --profile` (after the table), or by hand on a work dir the
// benchmark kept (`scripts/bench --keep`):
//
//   node bench/profile.mjs --work WORK [--results WORK/results] [--workload NAME] [--mode warm|cold]
//                          [--runs N] [--out FILE]
//
// NAME is one of the workload names below; without it, the one where lamina's median is
// furthest behind fuse-overlayfs in --results (held rows) is chosen. It reports:
//  1. FUSE requests per opcode that one run sends to each server (libfuse `debug` on
//     both; lamina through startMountServer with debug, fuse-overlayfs with -d);
//  2. wall time and server CPU time per run (utime+stime of the server process from
//     /proc, all threads), debug off;
//  3. the lamina server's CPU profile over the workload runs only: top functions by
//     self and inclusive time. Node 20 refuses --cpu-prof in NODE_OPTIONS, so the
//     server (spawned with process.env) gets NODE_OPTIONS=--import=cpu-prof-preload.mjs,
//     which runs the inspector's sampling profiler (200 µs) and writes it at exit;
//  3b. system calls of each server during one run (strace -c -f -p);
//  4. what `lamina mount` of an already viewed image spends its time on (the
//     mount-again row): node start-up, CLI, server start-up, readiness polling.
// /dev/cpu_dma_latency is held at 0 throughout, as for the benchmark's table, unless
// --idle is given. Needs root, a built dist/, and the work dir's extracted layers (WORK/ext/fuse-overlayfs).
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync, rmSync, openSync, closeSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const WORK = opt('work');
if (!WORK) {
  console.error('usage: profile.mjs --work WORK [--results DIR] [--workload NAME] [--mode warm|cold] [--runs N] [--out FILE]');
  process.exit(2);
}
const STORE = opt('store', path.join(WORK, 'store'));
const BIG = 'opt/bench/big.bin';
const WORKLOADS = {
  'find . | wc -l': 'find . | wc -l',
  'find -type f | xargs stat': 'find . -type f -print0 | xargs -0 stat > /dev/null',
  'tar cf - . | wc -c': 'tar cf - . | wc -c',
  'read 100 MiB file': `dd if=${BIG} of=/dev/null bs=1M status=none`,
  'random 4 KiB reads': `fio --name=r --filename=${BIG} --readonly --rw=randread --bs=4k --ioengine=psync --io_size=8m --invalidate=0 --output=/dev/null`,
};

// ---------------------------------------------------------------- which workload
function pickWorkload() {
  if (opt('workload')) return { name: opt('workload'), mode: opt('mode', 'warm') };
  const dir = opt('results', path.join(WORK, 'results'));
  const rows = readFileSync(path.join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const slow = (r) => (r.unit === 'IOPS' ? 1 / median(r.values) : median(r.values));
  let best;
  for (const r of rows) {
    if (r.phase !== 'held' || r.system !== 'lamina') continue;
    const m = /^(.*?)(?:, [\d,]+)? \((cold|warm)[^)]*\)$/.exec(r.workload);
    if (!m || !WORKLOADS[m[1]]) continue;
    const peer = rows.find((p) => p.phase === r.phase && p.workload === r.workload && p.system === 'fuse-overlayfs');
    if (!peer) continue;
    const ratio = slow(r) / slow(peer);
    if (!best || ratio > best.ratio) best = { name: m[1], mode: m[2], ratio };
  }
  if (!best) throw new Error(`no workload rows in ${dir}`);
  return best;
}

// ---------------------------------------------------------------- helpers
const sh = (cmd, cwd) => run('sh', ['-c', cmd], { cwd, maxBuffer: 1 << 28 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint() / 1000n); // µs, CLOCK_MONOTONIC like V8's profile ticks
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const dropCaches = async () => { await sh('sync; echo 3 > /proc/sys/vm/drop_caches'); };
const isMounted = (dir) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir);
/** utime+stime of a process (all threads), in ms. */
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100; // fields 14, 15; USER_HZ 100
}
function ctxSwitches(pid) {
  let n = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const s = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
    for (const m of s.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)/gm)) n += Number(m[1]);
  }
  return n;
}
const threads = (pid) => readdirSync(`/proc/${pid}/task`).length;

const IDLE = argv.includes('--idle');
if (!IDLE && existsSync('/dev/cpu_dma_latency')) {
  // held until this process exits, like scripts/bench's holder
  const fd = openSync('/dev/cpu_dma_latency', 'w');
  writeSync(fd, Buffer.alloc(4));
}
const MNT = path.join(WORK, 'mnt', 'profile');
mkdirSync(MNT, { recursive: true });
const imageId = JSON.parse((await run('node', [path.join(REPO, 'bin/lamina.js'), '--root', STORE, 'inspect', 'lamina-bench:latest'])).stdout)[0].Id;
const extDir = path.join(WORK, 'ext', 'fuse-overlayfs');
const lowerdir = readdirSync(extDir).map(Number).sort((a, b) => b - a).map((i) => path.join(extDir, String(i))).join(':');
const { startMountServer, unmount } = await import(pathToFileURL(path.join(REPO, 'dist/fuse/mount-process.js')).href);

/** A mounted system: { pid, log?, stop() }. */
async function mountLamina({ debug = false, env = {} } = {}) {
  const runDir = path.join(WORK, 'run-profile');
  if (debug) {
    const rec = await startMountServer(MNT, { kind: 'image', root: STORE, image: imageId },
      { readOnly: true, fsname: 'lamina-profile', debug: true }, { runDir, serverEntry: path.join(REPO, 'dist/fuse/serve-mount.js') });
    return { pid: rec.pid, log: rec.logFile, stop: () => unmount(MNT, { runDir }) };
  }
  await run('node', [path.join(REPO, 'bin/lamina.js'), '--root', STORE, 'mount', '--read-only', 'lamina-bench:latest', MNT],
    { env: { ...process.env, LAMINA_RUN_DIR: runDir, ...env } });
  const rec = readdirSync(path.join(runDir, 'mounts')).filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(runDir, 'mounts', f), 'utf8'))).find((r) => r.dir === MNT);
  return {
    pid: rec.pid,
    stop: () => run('node', [path.join(REPO, 'bin/lamina.js'), '--root', STORE, 'umount', MNT], { env: { ...process.env, LAMINA_RUN_DIR: runDir } }),
  };
}
async function mountFuseOverlayfs({ debug = false } = {}) {
  const log = path.join(WORK, 'fuse-overlayfs-profile.log');
  const fd = openSync(log, 'w');
  const child = spawn('fuse-overlayfs', ['-f', ...(debug ? ['-d'] : []), '-o', `lowerdir=${lowerdir}`, MNT], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise((r) => child.once('exit', r));
  for (let i = 0; i < 500 && !isMounted(MNT); i++) await sleep(10);
  if (!isMounted(MNT)) throw new Error(`fuse-overlayfs did not mount; see ${log}`);
  return {
    pid: child.pid, log,
    stop: async () => {
      await run('fusermount3', ['-u', MNT]);
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
const MOUNTERS = { lamina: mountLamina, 'fuse-overlayfs': mountFuseOverlayfs };

// ---------------------------------------------------------------- 1. request counts
const logSize = (f) => statSync(f).size;
function opcodes(file, from) {
  const text = readFileSync(file).subarray(from).toString();
  const counts = {};
  for (const m of text.matchAll(/opcode: (\w+)/g)) counts[m[1]] = (counts[m[1]] ?? 0) + 1;
  return counts;
}
async function requestCounts(sys, cmd, mode) {
  const m = await MOUNTERS[sys]({ debug: true });
  try {
    if (mode === 'cold') await dropCaches();
    else for (let i = 0; i < 2; i++) await sh(cmd, MNT);
    await sleep(200);
    const from = logSize(m.log);
    await sh(cmd, MNT);
    await sleep(300); // let the log catch up
    return opcodes(m.log, from);
  } finally {
    await m.stop();
  }
}

// ---------------------------------------------------------------- 2+3. time, CPU and profile
async function timed(sys, cmd, mode, runs, env) {
  const walls = [];
  let cpu = 0, switches = 0;
  const windows = [];
  let pid, nthreads;
  const cycles = mode === 'cold' ? runs : 1;
  for (let c = 0; c < cycles; c++) {
    const m = await MOUNTERS[sys]({ env });
    pid = m.pid;
    try {
      if (mode === 'cold') await dropCaches();
      else for (let i = 0; i < 2; i++) await sh(cmd, MNT);
      for (let i = 0; i < (mode === 'cold' ? 1 : runs); i++) {
        const c0 = cpuMs(pid), s0 = ctxSwitches(pid), t0 = now();
        await sh(cmd, MNT);
        const t1 = now();
        walls.push((t1 - t0) / 1000); cpu += cpuMs(pid) - c0; switches += ctxSwitches(pid) - s0;
        windows.push([t0, t1]);
      }
      nthreads = threads(pid);
    } finally {
      await m.stop();
    }
  }
  // CPU ticks are 10 ms, so CPU and switches are totals over all runs divided by the runs
  return { wall: median(walls), cpu: cpu / walls.length, switches: Math.round(switches / walls.length), threads: nthreads, windows };
}

/** Self and inclusive sample time per function, restricted to the time windows. */
function summarizeProfiles(files, windows) {
  const self = new Map(), incl = new Map();
  let total = 0;
  for (const f of files) {
    const p = JSON.parse(readFileSync(f, 'utf8'));
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const key = (n) => {
      const cf = n.callFrame;
      const file = cf.url ? cf.url.replace(/^file:\/\//, '').replace(`${REPO}/`, '') : '';
      return `${cf.functionName || '(anonymous)'}${file ? ` ${file}:${cf.lineNumber + 1}` : ''}`;
    };
    let t = p.startTime;
    for (let i = 0; i < p.samples.length; i++) {
      t += p.timeDeltas[i];
      const dt = p.timeDeltas[i + 1] ?? 0; // a sample stands for the time until the next
      if (windows && !windows.some(([a, b]) => t >= a && t <= b)) continue;
      total += dt;
      let n = byId.get(p.samples[i]);
      self.set(key(n), (self.get(key(n)) ?? 0) + dt);
      const seen = new Set();
      for (; n; n = byId.get(parent.get(n.id))) {
        const k = key(n);
        if (seen.has(k)) continue;
        seen.add(k);
        incl.set(k, (incl.get(k) ?? 0) + dt);
      }
    }
  }
  const top = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => ({ fn: k, ms: v / 1000, pct: (100 * v) / total }));
  return { totalMs: total / 1000, self: top(self, 15), incl: top(incl, 25) };
}

// ---------------------------------------------------------------- 3b. system calls
async function syscalls(sys, cmd, mode) {
  const m = await MOUNTERS[sys]();
  const file = path.join(WORK, `strace-${sys}.txt`);
  try {
    if (mode === 'cold') await dropCaches();
    else for (let i = 0; i < 2; i++) await sh(cmd, MNT);
    const st = spawn('strace', ['-c', '-f', '-q', '-o', file, '-p', String(m.pid)], { stdio: 'ignore' });
    const done = new Promise((r) => st.once('exit', r));
    await sleep(500); // attached to every thread
    await sh(cmd, MNT);
    st.kill('SIGINT');
    await done;
  } finally {
    await m.stop();
  }
  // "% time seconds usecs/call calls errors syscall"
  const rows = readFileSync(file, 'utf8').split('\n').map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 5 && /^\d/.test(f[0]) && f[f.length - 1] !== 'total')
    .map((f) => ({ name: f[f.length - 1], calls: Number(f[3]) }));
  return rows;
}

// ---------------------------------------------------------------- 4. mount again
async function mountBreakdown(runs) {
  const nodeStart = [], cli = [], mountTotal = [], serverReady = [];
  const runDir = path.join(WORK, 'run-profile');
  const env = { ...process.env, LAMINA_RUN_DIR: runDir };
  for (let i = 0; i < runs; i++) {
    let t0 = now();
    await run('node', ['-e', '0']);
    nodeStart.push((now() - t0) / 1000);
    t0 = now();
    await run('node', [path.join(REPO, 'bin/lamina.js'), '--root', STORE, 'inspect', 'lamina-bench:latest'], { env });
    cli.push((now() - t0) / 1000);
    const wall0 = Date.now();
    t0 = now();
    await run('node', [path.join(REPO, 'bin/lamina.js'), '--root', STORE, 'mount', '--read-only', 'lamina-bench:latest', MNT], { env });
    mountTotal.push((now() - t0) / 1000);
    const rec = readdirSync(path.join(runDir, 'mounts')).filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(path.join(runDir, 'mounts', f), 'utf8'))).find((r) => r.dir === MNT);
    const startedAt = Date.parse(rec.startedAt); // written by the server once the kernel's INIT arrived
    serverReady.push(startedAt - wall0);
    await run('node', [path.join(REPO, 'bin/lamina.js'), '--root', STORE, 'umount', MNT], { env });
  }
  // one more, profiled: the CLI with --cpu-prof, the server through the preload
  const cliDir = path.join(WORK, 'cpu-prof-mount-cli'), srvDir = path.join(WORK, 'cpu-prof-mount-server');
  for (const d of [cliDir, srvDir]) { rmSync(d, { recursive: true, force: true }); mkdirSync(d, { recursive: true }); }
  await run('node', ['--cpu-prof', `--cpu-prof-dir=${cliDir}`, path.join(REPO, 'bin/lamina.js'), '--root', STORE, 'mount', '--read-only', 'lamina-bench:latest', MNT],
    { env: { ...env, NODE_OPTIONS: `--import=${pathToFileURL(path.join(REPO, 'bench/cpu-prof-preload.mjs')).href}`, LAMINA_CPU_PROF_DIR: srvDir } });
  await run('node', [path.join(REPO, 'bin/lamina.js'), '--root', STORE, 'umount', MNT], { env });
  const list = (d) => readdirSync(d).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(d, f));
  return { nodeStart: median(nodeStart), cli: median(cli), mountTotal: median(mountTotal), serverReady: median(serverReady),
    cliProfile: summarizeProfiles(list(cliDir)), serverProfile: summarizeProfiles(list(srvDir)) };
}

// ---------------------------------------------------------------- main
const { name, mode, ratio } = pickWorkload();
const cmd = WORKLOADS[name];
if (!cmd) throw new Error(`unknown workload ${name}; one of: ${Object.keys(WORKLOADS).join(', ')}`);
const RUNS = Number(opt('runs', mode === 'cold' ? 3 : 10));
const out = [];
const say = (s = '') => { out.push(s); console.log(s); };
for (const d of [MNT]) if (isMounted(d)) await run('umount', ['-l', d]);

say(`## Profile: \`${name}\` (${mode})${ratio ? `, lamina/fuse-overlayfs ${ratio.toFixed(2)}× in the table` : ''}`);
say();
say(`/dev/cpu_dma_latency ${IDLE ? 'not held (idle)' : 'held at 0'}. Command in the mountpoint: \`${cmd}\`; ${mode === 'cold' ? `${RUNS} cycles of mount, drop caches, one run` : `one mount, 2 warm-up runs, then ${RUNS} runs`}.`);
say();

const counts = {};
for (const sys of ['lamina', 'fuse-overlayfs']) counts[sys] = await requestCounts(sys, cmd, mode);
const ops = [...new Set(Object.values(counts).flatMap((c) => Object.keys(c)))]
  .sort((a, b) => (counts.lamina[b] ?? 0) + (counts['fuse-overlayfs'][b] ?? 0) - (counts.lamina[a] ?? 0) - (counts['fuse-overlayfs'][a] ?? 0));
say('FUSE requests in one run (libfuse debug log):');
say();
say('| opcode | lamina | fuse-overlayfs |');
say('|---|---:|---:|');
for (const op of ops) say(`| ${op} | ${counts.lamina[op] ?? 0} | ${counts['fuse-overlayfs'][op] ?? 0} |`);
const sum = (c) => Object.values(c).reduce((a, b) => a + b, 0);
say(`| **total** | **${sum(counts.lamina)}** | **${sum(counts['fuse-overlayfs'])}** |`);
say();

const profDir = path.join(WORK, 'cpu-prof');
rmSync(profDir, { recursive: true, force: true });
mkdirSync(profDir, { recursive: true });
const fov = await timed('fuse-overlayfs', cmd, mode, RUNS);
const plain = await timed('lamina', cmd, mode, RUNS);
const prof = await timed('lamina', cmd, mode, RUNS,
  { NODE_OPTIONS: `--import=${pathToFileURL(path.join(REPO, 'bench/cpu-prof-preload.mjs')).href}`, LAMINA_CPU_PROF_DIR: profDir });
const req = sum(counts.lamina);
say('Per run, debug off: wall = median; server CPU (utime+stime of the server process, all threads) and context switches = mean over the runs:');
say();
say('| | wall | server CPU | server context switches | server threads |');
say('|---|---:|---:|---:|---:|');
say(`| lamina | ${plain.wall.toFixed(1)} ms | ${plain.cpu.toFixed(1)} ms | ${plain.switches} | ${plain.threads} |`);
say(`| lamina with CPU profiler | ${prof.wall.toFixed(1)} ms | ${prof.cpu.toFixed(1)} ms | ${prof.switches} | ${prof.threads} |`);
say(`| fuse-overlayfs | ${fov.wall.toFixed(1)} ms | ${fov.cpu.toFixed(1)} ms | ${fov.switches} | ${fov.threads} |`);
say();
if (req) say(`lamina: ${((plain.cpu * 1000) / req).toFixed(1)} µs of server CPU and ${((plain.wall * 1000) / req).toFixed(1)} µs of wall time per FUSE request.`);
say();

const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(profDir, f));
const s = summarizeProfiles(files, prof.windows);
say(`lamina server CPU profile (${files.length} profile file(s), ${s.totalMs.toFixed(0)} ms of samples inside the workload runs):`);
say();
say('| top self time | ms | % |');
say('|---|---:|---:|');
for (const r of s.self) say(`| \`${r.fn}\` | ${r.ms.toFixed(1)} | ${r.pct.toFixed(1)} |`);
say();
say('| top inclusive time | ms | % |');
say('|---|---:|---:|');
for (const r of s.incl) say(`| \`${r.fn}\` | ${r.ms.toFixed(1)} | ${r.pct.toFixed(1)} |`);
say();

const hasStrace = await run('sh', ['-c', 'command -v strace']).then(() => true, () => false);
if (hasStrace) {
  const sc = { lamina: await syscalls('lamina', cmd, mode), 'fuse-overlayfs': await syscalls('fuse-overlayfs', cmd, mode) };
  const names = [...new Set(Object.values(sc).flatMap((r) => r.map((x) => x.name)))];
  const calls = (sys, n) => sc[sys].find((x) => x.name === n)?.calls ?? 0;
  names.sort((a, b) => calls('lamina', b) + calls('fuse-overlayfs', b) - calls('lamina', a) - calls('fuse-overlayfs', a));
  say('System calls of each server during one run (strace -c -f -p; strace itself slows the run, the counts stand):');
  say();
  say('| syscall | lamina | fuse-overlayfs |');
  say('|---|---:|---:|');
  for (const n of names.slice(0, 10)) say(`| ${n} | ${calls('lamina', n)} | ${calls('fuse-overlayfs', n)} |`);
  say(`| **total** | **${sc.lamina.reduce((a, x) => a + x.calls, 0)}** | **${sc['fuse-overlayfs'].reduce((a, x) => a + x.calls, 0)}** |`);
  say();
}

const mb = await mountBreakdown(5);
say('`lamina mount` of an image whose view is stored (the "mount again" row), medians of 5:');
say();
say(`- \`node -e 0\`: ${mb.nodeStart.toFixed(0)} ms; \`lamina inspect\` (CLI start-up + store open): ${mb.cli.toFixed(0)} ms`);
say(`- from running \`lamina mount\` to the server's record (INIT received): ${mb.serverReady.toFixed(0)} ms; whole command: ${mb.mountTotal.toFixed(0)} ms`);
say();
for (const [who, p] of [['the CLI (`node --cpu-prof`)', mb.cliProfile], ['the server, start-up until SIGTERM (preload)', mb.serverProfile]]) {
  say(`One profiled \`lamina mount\`: ${who}, ${p.totalMs.toFixed(0)} ms of samples; top self time:`);
  say();
  say('| function | ms | % |');
  say('|---|---:|---:|');
  for (const r of p.self.slice(0, 10)) say(`| \`${r.fn}\` | ${r.ms.toFixed(1)} | ${r.pct.toFixed(1)} |`);
  say();
}
const file = opt('out');
if (file) writeFileSync(file, `${out.join('\n')}\n`);
