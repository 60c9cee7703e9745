#!/usr/bin/env node
// Soak test of `lamina serve` (not in CI): N container mounts under continuous reads and writes
// from child processes while workers are killed with SIGKILL at random. Needs root, /dev/fuse
// and a build (npm run build).
//
// Usage: node bench/soak.mjs [--seconds 300] [--mounts 10] [--kill-every 2000] [--nice N] [--keep]
//   --kill-every  mean milliseconds between two worker kills (uniform in [0.5x, 1.5x])
//   --nice        run the service (and so its workers) at this nice value, as systemd's Nice= would
//   --keep        leave the work directory (logs) behind
//
// Prints operations done, errors seen (by errno), data mismatches (must be 0), worker kills with
// the time until each mount answered again, and the service's peak RSS (VmHWM). Exit status 1
// when a mismatch was seen or a mount or process was left behind.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(REPO, 'bin/lamina.js');
const SELF = fileURLToPath(import.meta.url);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function flag(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
}

// ---------------------------------------------------------------------------
// Children: `soak.mjs --child read|write DIR SECONDS ID`, one JSON summary line on stdout.

/** Deterministic content of version `v` of writer `id`'s file: header line, then bytes. */
function payload(id, v) {
  const size = 4096 + ((v * 7919) % 61440);
  const seed = createHash('sha256').update(`${id}:${v}`).digest();
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i += 32) seed.copy(body, i, 0, Math.min(32, size - i));
  return Buffer.concat([Buffer.from(`v${v}\n`), body]);
}

function child(kind, dir, seconds, id) {
  const end = Date.now() + seconds * 1000;
  const out = { kind, dir, ops: 0, errors: {}, mismatches: [] };
  const err = (e) => (out.errors[e.code ?? e.message] = (out.errors[e.code ?? e.message] ?? 0) + 1);
  const manifest = JSON.parse(fs.readFileSync(path.join(path.dirname(dir), 'manifest.json'), 'utf8'));
  const names = Object.keys(manifest);
  const marker = fs.readFileSync(path.join(path.dirname(dir), 'marker.txt'), 'utf8');
  // in a directory only the mount has: while a dead mount is being replaced, the bare mountpoint shows,
  // and a write there would land on the host directory, to be hidden by the new mount
  const file = path.join(dir, 'w', `soak-${id}.bin`);
  let v = 0;
  let acked; // last version whose write returned without error
  while (Date.now() < end) {
    try {
      if (kind === 'read') {
        const name = names[out.ops % names.length];
        const got = createHash('sha256').update(fs.readFileSync(path.join(dir, 'data', name))).digest('hex');
        if (got !== manifest[name]) out.mismatches.push(`${dir}/data/${name}: sha256 ${got}`);
        if (out.ops % 10 === 0 && fs.readFileSync(path.join(dir, 'marker.txt'), 'utf8') !== marker) out.mismatches.push(`${dir}/marker.txt changed`);
      } else {
        // a version is checked right after its write returned, and before the next one
        if (acked !== undefined) {
          const got = fs.readFileSync(file);
          if (!got.equals(payload(id, acked))) out.mismatches.push(`${file}: want v${acked}, got ${got.subarray(0, got.indexOf(10)).toString()} (${got.length} bytes)`);
        }
        acked = undefined;
        fs.writeFileSync(file, payload(id, ++v));
        acked = v;
      }
      out.ops++;
    } catch (e) {
      err(e);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // the mount is being replaced
    }
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (process.argv[2] === '--child') {
  const [, , , kind, dir, seconds, id] = process.argv;
  child(kind, dir, Number(seconds), id);
  process.exit(0);
}

// ---------------------------------------------------------------------------
// The harness.

const SECONDS = Number(flag('seconds', '300'));
const MOUNTS = Number(flag('mounts', '10'));
const KILL_EVERY = Number(flag('kill-every', '2000'));
const KEEP = process.argv.includes('--keep');
const NICE = flag('nice', undefined);

function run(args, opts = {}) {
  return new Promise((resolve) => {
    const c = spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b) => (stdout += b));
    c.stderr.on('data', (b) => (stderr += b));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function must(args, opts) {
  const r = await run(args, opts);
  if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

function api(sock, method, p) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path: p }, (res) => {
      let body = '';
      res.on('data', (b) => (body += b));
      res.on('end', () => (res.statusCode < 400 ? resolve(JSON.parse(body)) : reject(new Error(body))));
    });
    req.on('error', reject);
    req.end();
  });
}

const mountsUnder = (prefix) => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
  .map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(prefix));

function status(pid, key) {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Milliseconds from each worker-exit event to the restart event of the same mount, sorted. */
function replaceTimes(logFile) {
  const exitAt = new Map();
  const out = [];
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line);
    if (e.event === 'worker-exit') exitAt.set(e.dir, Date.parse(e.time));
    if (e.event === 'restart' && exitAt.has(e.dir)) out.push(Date.parse(e.time) - exitAt.get(e.dir));
  }
  return out.sort((a, b) => a - b);
}

async function main() {
  if (process.getuid() !== 0) throw new Error('soak.mjs needs root (FUSE mounts with allow_other)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-soak-'));
  fs.chmodSync(work, 0o755);
  const root = path.join(work, 'store');
  const sock = path.join(work, 'lamina.sock');
  const env = { ...process.env, LAMINA_RUN_DIR: path.join(work, 'run') };
  const lamina = (args) => must([process.execPath, BIN, '--root', root, '--socket', sock, ...args], { env });

  // an image: 48 files of 1-256 KiB and one of 4 MiB, with their digests
  const rootfs = path.join(work, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'data'), { recursive: true });
  const manifest = {};
  for (let i = 0; i < 49; i++) {
    const name = `f${i}.bin`;
    const data = randomBytes(i === 48 ? 4 << 20 : 1024 + ((i * 5413) % (255 << 10)));
    fs.writeFileSync(path.join(rootfs, 'data', name), data);
    manifest[name] = createHash('sha256').update(data).digest('hex');
  }
  fs.writeFileSync(path.join(work, 'manifest.json'), JSON.stringify(manifest));
  fs.writeFileSync(path.join(work, 'marker.txt'), `written before the first kill ${Date.now()}\n`);
  await must(['tar', '-C', rootfs, '-cf', path.join(work, 'rootfs.tar'), '.']);
  await lamina(['import', path.join(work, 'rootfs.tar'), 'soak:1']);

  const log = fs.openSync(path.join(work, 'serve.log'), 'a');
  const serveArgv = [process.execPath, BIN, '--root', root, 'serve', '--socket', sock];
  const service = NICE === undefined ? spawn(serveArgv[0], serveArgv.slice(1), { env, stdio: ['ignore', log, log] })
    : spawn('nice', ['-n', NICE, ...serveArgv], { env, stdio: ['ignore', log, log] }); // nice execs: same pid
  const serviceExit = new Promise((resolve) => service.on('exit', (code, signal) => resolve({ code, signal })));
  for (let i = 0; ; i++) {
    if (await api(sock, 'GET', '/info').then(() => true, () => false)) break;
    if (i > 200) throw new Error('the service did not answer');
    await sleep(50);
  }

  const dirs = Array.from({ length: MOUNTS }, (_, i) => path.join(work, `m${i}`));
  for (const d of dirs) fs.mkdirSync(d);
  await Promise.all(dirs.map((d) => lamina(['mount', 'soak:1', d])));
  const marker = fs.readFileSync(path.join(work, 'marker.txt'));
  await Promise.all(dirs.map((d) => must(['sh', '-c', `cp "$1/marker.txt" "$2/marker.txt" && mkdir "$2/w"`, 'sh', work, d])));
  console.log(`soak: ${SECONDS} s, ${MOUNTS} mounts, a kill every ~${KILL_EVERY} ms${NICE === undefined ? '' : `, service at nice ${NICE}`}, work dir ${work}`);

  // two readers and one writer per mount, each its own process
  const children = dirs.flatMap((d, i) => ['read', 'read', 'write'].map((kind, k) =>
    run([process.execPath, SELF, '--child', kind, d, String(SECONDS), `${i}-${k}`], { env })));

  const kills = [];
  let peakRss = 0;
  const end = Date.now() + SECONDS * 1000;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, status(service.pid, 'VmRSS') ?? 0)), 500);
  while (Date.now() + 3000 < end) {
    await sleep(KILL_EVERY * (0.5 + Math.random()));
    const ms = await api(sock, 'GET', '/mounts');
    const live = ms.filter((m) => m.state === 'mounted' && m.pid);
    if (!live.length) continue;
    const victim = live[Math.floor(Math.random() * live.length)];
    const t0 = Date.now();
    try {
      process.kill(victim.pid, 'SIGKILL');
    } catch {
      continue;
    }
    const k = { dir: victim.dir, pid: victim.pid, backMs: undefined };
    kills.push(k);
    void (async () => { // time until the mount is served by a new worker and answers
      while (Date.now() < end + 30_000) {
        const m = (await api(sock, 'GET', '/mounts').catch(() => [])).find((x) => x.dir === victim.dir);
        if (m?.state === 'mounted' && m.pid !== victim.pid && (await run(['stat', '-f', victim.dir])).code === 0) {
          k.backMs = Date.now() - t0;
          return;
        }
        await sleep(20);
      }
    })();
  }
  const results = (await Promise.all(children)).map((r) => {
    try {
      return JSON.parse(r.stdout);
    } catch {
      return { kind: 'crashed', ops: 0, errors: { [`child exit ${r.code}`]: 1 }, mismatches: [r.stderr.slice(-500)] };
    }
  });
  clearInterval(sampler);
  await sleep(3000); // let the last restarts finish

  // every mount is back, and its earlier changes are intact
  const final = await api(sock, 'GET', '/mounts');
  const finalMismatches = [];
  for (const d of dirs) {
    if (!fs.readFileSync(path.join(d, 'marker.txt')).equals(marker)) finalMismatches.push(`${d}/marker.txt`);
  }
  const peakHwm = status(service.pid, 'VmHWM');
  const workerRss = final.map((m) => status(m.pid, 'VmRSS') ?? 0);

  for (const d of dirs) await lamina(['umount', d]).catch((e) => console.error(String(e)));
  service.kill('SIGTERM');
  const exit = await serviceExit;
  const leftovers = mountsUnder(work);

  const ops = { read: 0, write: 0 };
  const errors = {};
  const mismatches = [...finalMismatches];
  for (const r of results) {
    ops[r.kind] = (ops[r.kind] ?? 0) + r.ops;
    for (const [k, n] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + n;
    mismatches.push(...r.mismatches);
  }
  const back = kills.map((k) => k.backMs).filter((x) => x !== undefined).sort((a, b) => a - b);
  const replaced = replaceTimes(path.join(work, 'serve.log'));
  const pct = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] : '-');
  const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  console.log(`operations: ${ops.read} verified reads, ${ops.write} verified writes (${Math.round((ops.read + ops.write) / SECONDS)}/s)`);
  console.log(`errors seen: ${Object.values(errors).reduce((a, b) => a + b, 0)} ${JSON.stringify(errors)}`);
  console.log(`data mismatches: ${mismatches.length}`);
  for (const m of mismatches.slice(0, 20)) console.log(`  ${m}`);
  console.log(`worker kills: ${kills.length}; answering again after median ${pct(back, 0.5)} ms, p90 ${pct(back, 0.9)} ms, max ${pct(back, 1)} ms`
    + ` (seen from outside)${back.length < kills.length ? `, ${kills.length - back.length} not back` : ''}`);
  console.log(`service log, worker exit to new mount: median ${pct(replaced, 0.5)} ms, p90 ${pct(replaced, 0.9)} ms, max ${pct(replaced, 1)} ms;`
    + ` ${replaced.filter((x) => x <= 2000).length}/${replaced.length} within 2 s`);
  console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`);
  console.log(`mounts at the end: ${final.filter((m) => m.state === 'mounted').length}/${MOUNTS} mounted, restarts ${final.reduce((a, m) => a + m.restarts, 0)}`);
  console.log(`service RSS: peak ${mib(Math.max(peakHwm ?? 0, peakRss))} (VmHWM), workers now ${mib(Math.min(...workerRss))}-${mib(Math.max(...workerRss))}`);
  console.log(`service exit: ${JSON.stringify(exit)}; mounts left: ${leftovers.length}`);
  if (!KEEP && !leftovers.length) fs.rmSync(work, { recursive: true, force: true });
  return mismatches.length || leftovers.length || back.length < kills.length || exit.code !== 0 ? 1 : 0;
}

process.exitCode = await main();
