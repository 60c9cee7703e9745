#!/usr/bin/env node
// Pull from a local registry: lamina against skopeo (+ umoci), medians of N runs.
//
// Starts Debian's docker-registry on 127.0.0.1 (filesystem storage in the work dir), builds
// a ~200 MB image with umoci -- a busybox layer and three layers of random data -- and
// pushes it with skopeo. Then, each run on a fresh store / directory, alternating who goes
// first:
//   pull           lamina pull                  vs  skopeo copy docker://… oci:DIR
//   pull -> shell  lamina pull && lamina run --rm IMG true
//                                               vs  skopeo copy + umoci unpack + chroot ROOTFS /bin/true
// Goals: pull no slower than skopeo; pull -> shell at least 2x faster.
//
// Usage: node bench/pull.mjs [--runs N (>= 5, default 5)] [--layers-mb A,B,C] [--md FILE]
//                            [--json FILE] [--keep] [--skip-missing]
//   --md FILE       append the results (Markdown) to FILE
//   --json FILE     write the raw timings (seconds) to FILE
//   --skip-missing  exit 0 with a notice when a tool is missing (for scripts/bench)
// Needs root (lamina run, chroot), /dev/fuse, the built project (npx tsc), docker-registry,
// skopeo, umoci and a static /bin/busybox. All traffic stays on 127.0.0.1.
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, copyFile, chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const LAMINA = path.join(REPO, 'bin/lamina.js');

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const flag = (name) => argv.includes(name);
if (flag('-h') || flag('--help')) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 21).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}
const RUNS = Math.max(5, Number(opt('--runs', '5')));
const LAYERS_MB = opt('--layers-mb', '24,64,112').split(',').map(Number);
const MD = opt('--md');
const JSON_OUT = opt('--json');
const KEEP = flag('--keep');
if (!Number.isInteger(RUNS) || LAYERS_MB.some((n) => !Number.isInteger(n) || n <= 0)) {
  console.error('pull.mjs: --runs and --layers-mb want integers');
  process.exit(2);
}
const say = (s) => process.stderr.write(`bench/pull: ${s}\n`);

// ---------------------------------------------------------------- child processes
/** Run a command; resolves with its wall time in seconds, rejects on a non-zero exit or timeout. */
function exec(cmd, args, o = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: o.cwd });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeout ?? 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code === 0) return resolve({ seconds, out, err });
      reject(new Error(`${[cmd, ...args].join(' ')} ${signal ? `killed by ${signal}` : `exited ${code}`}: ${(err || out).trim().split('\n').slice(-5).join('\n')}`));
    });
  });
}
const have = async (cmd) => exec('sh', ['-c', 'command -v "$1"', 'sh', cmd]).then(() => true, () => false);

// ---------------------------------------------------------------- preconditions
const missing = [];
if (process.getuid?.() !== 0) missing.push('root');
if (!existsSync('/dev/fuse')) missing.push('/dev/fuse');
if (!existsSync(path.join(REPO, 'dist/cli/main.js'))) missing.push('the built project (npx tsc -p tsconfig.json)');
for (const t of ['docker-registry', 'skopeo', 'umoci', 'chroot', 'tar']) if (!(await have(t))) missing.push(t);
if (!existsSync('/bin/busybox')) missing.push('/bin/busybox (busybox-static)');
if (missing.length) {
  say(`${flag('--skip-missing') ? 'skipped' : 'cannot run'}: missing ${missing.join(', ')}`);
  process.exit(flag('--skip-missing') ? 0 : 1);
}

// ---------------------------------------------------------------- work dir, registry, cleanup
const WORK = await mkdtemp('/var/tmp/lamina-bench-pull.'); // on disk, like a real store
const env = { DOCKER_CONFIG: path.join(WORK, 'docker'), LAMINA_RUN_DIR: path.join(WORK, 'run'), LAMINA_SOCKET: path.join(WORK, 'no-service.sock') };
let registryPid;

function mountsUnder(dir) {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(`${dir}/`)).sort().reverse();
}
async function cleanup() {
  if (registryPid) {
    try {
      process.kill(registryPid, 'SIGTERM');
    } catch { /* gone */ }
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(registryPid, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
      if (i === 99) try { process.kill(registryPid, 'SIGKILL'); } catch { /* gone */ }
    }
    registryPid = undefined;
  }
  for (const m of mountsUnder(WORK)) await exec('umount', ['-l', m]).catch(() => undefined);
  if (KEEP) say(`work dir kept: ${WORK}`);
  else await rm(WORK, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => cleanup().finally(() => process.exit(130)));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** docker-registry serve, filesystem storage, no auth; returns 127.0.0.1:PORT. */
async function startRegistry() {
  const dir = path.join(WORK, 'registry');
  await mkdir(path.join(dir, 'data'), { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'config.yml');
    await writeFile(config, [
      'version: 0.1', 'log:', '  level: warn', '  accesslog:', '    disabled: true',
      'storage:', '  filesystem:', `    rootdirectory: ${JSON.stringify(path.join(dir, 'data'))}`, '  maintenance:', '    uploadpurging:', '      enabled: false',
      'http:', `  addr: "127.0.0.1:${port}"`, '',
    ].join('\n'));
    const log = openSync(path.join(dir, 'registry.log'), 'a');
    const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', log, log] });
    closeSync(log);
    registryPid = child.pid;
    let exited = false;
    child.once('exit', () => (exited = true));
    for (const deadline = Date.now() + 15_000; !exited && Date.now() < deadline;) {
      const ok = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200, () => false);
      if (ok) return `127.0.0.1:${port}`;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!exited) child.kill('SIGKILL');
    registryPid = undefined;
  }
  throw new Error(`docker-registry did not start: ${readFileSync(path.join(dir, 'registry.log'), 'utf8').slice(-500)}`);
}

// ---------------------------------------------------------------- the image
function randomFile(file, mb) {
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(1 << 20);
  for (let i = 0; i < mb; i++) writeSync(fd, randomFillSync(buf));
  closeSync(fd);
}

/** OCI layout: a busybox layer (sh, true, ls, cat, echo), then one random file per layer. */
async function buildImage(layout) {
  const stage = path.join(WORK, 'stage');
  await exec('umoci', ['init', '--layout', layout]);
  await exec('umoci', ['new', '--image', `${layout}:latest`]);
  const layerTar = async (name, fill) => {
    const d = path.join(stage, name);
    await mkdir(d, { recursive: true });
    await fill(d);
    const tarFile = path.join(stage, `${name}.tar`);
    await exec('tar', ['--numeric-owner', '--sort=name', '--mtime=@1700000000', '-C', d, '-cf', tarFile, '.']);
    await exec('umoci', ['raw', 'add-layer', `--history.created_by=bench ${name}`, '--image', `${layout}:latest`, tarFile], { timeout: 600_000 });
    await rm(stage, { recursive: true, force: true });
  };
  await layerTar('busybox', async (d) => {
    for (const sub of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root']) await mkdir(path.join(d, sub));
    await copyFile('/bin/busybox', path.join(d, 'bin/busybox'));
    await chmod(path.join(d, 'bin/busybox'), 0o755);
    for (const a of ['sh', 'true', 'ls', 'cat', 'echo']) await symlink('busybox', path.join(d, 'bin', a));
    await writeFile(path.join(d, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    await writeFile(path.join(d, 'etc/group'), 'root:x:0:\n');
  });
  for (const [i, mb] of LAYERS_MB.entries()) {
    await layerTar(`data${i + 1}`, async (d) => {
      await mkdir(path.join(d, 'data'));
      randomFile(path.join(d, 'data', `random${i + 1}.bin`), mb);
    });
  }
  await exec('umoci', ['config', '--no-history', '--image', `${layout}:latest`, '--config.cmd=/bin/sh']);
}

// ---------------------------------------------------------------- measuring
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const lamina = (root, args) => exec(process.execPath, [LAMINA, '--root', root, ...args], { env });

let ref;
const cases = {
  pull: {
    lamina: async (i) => (await lamina(path.join(WORK, `lp-${i}`), ['pull', '-q', ref])).seconds,
    skopeo: async (i) => (await exec('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${path.join(WORK, `sp-${i}`)}:latest`])).seconds,
  },
  'pull -> shell': {
    lamina: async (i) => {
      const root = path.join(WORK, `ls-${i}`);
      const a = await lamina(root, ['pull', '-q', ref]);
      const b = await lamina(root, ['run', '--rm', ref, 'true']);
      return a.seconds + b.seconds;
    },
    'skopeo + umoci': async (i) => {
      const dir = path.join(WORK, `ss-${i}`);
      const a = await exec('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}:latest`]);
      const b = await exec('umoci', ['unpack', '--image', `${dir}:latest`, `${dir}-bundle`]);
      const c = await exec('chroot', [`${dir}-bundle/rootfs`, '/bin/true']);
      return a.seconds + b.seconds + c.seconds;
    },
  },
};

const results = {}; // case -> system -> seconds[]
async function measure() {
  for (const [name, systems] of Object.entries(cases)) {
    results[name] = Object.fromEntries(Object.keys(systems).map((s) => [s, []]));
    const order = Object.keys(systems);
    for (let i = 0; i < RUNS; i++) {
      const run = i % 2 ? [...order].reverse() : order; // alternate who goes first
      for (const s of run) {
        await exec('sync', []);
        const t = await systems[s](`${name.replace(/\W+/g, '')}-${i}`);
        results[name][s].push(t);
        // fresh store / directory each run: drop this run's (untimed)
        for (const m of mountsUnder(WORK)) await exec('umount', ['-l', m]).catch(() => undefined);
        for (const p of ['lp', 'sp', 'ls', 'ss']) {
          await rm(path.join(WORK, `${p}-${name.replace(/\W+/g, '')}-${i}`), { recursive: true, force: true });
          await rm(path.join(WORK, `${p}-${name.replace(/\W+/g, '')}-${i}-bundle`), { recursive: true, force: true });
        }
      }
      say(`${name} run ${i + 1}/${RUNS}: ${Object.keys(systems).map((s) => `${s} ${results[name][s].at(-1).toFixed(2)} s`).join(', ')}`);
    }
  }
}

// ---------------------------------------------------------------- run
let failed = false;
const loadStart = os.loadavg().map((x) => x.toFixed(1)).join(' ');
try {
  say(`work dir ${WORK}`);
  const host = await startRegistry();
  say(`docker-registry on ${host} (pid ${registryPid})`);
  const layout = path.join(WORK, 'layout');
  say(`building the image (busybox + ${LAYERS_MB.join(' + ')} MiB of random data) with umoci`);
  await buildImage(layout);
  ref = `${host}/bench/pull:latest`;
  await exec('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${ref}`]);
  const manifest = JSON.parse((await exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])).out);
  const bytes = manifest.layers.reduce((s, l) => s + l.size, 0);
  say(`pushed ${ref} with skopeo: ${manifest.layers.length} layers, ${(bytes / 1e6).toFixed(0)} MB compressed`);

  // sanity: both ways give a shell that runs
  await lamina(path.join(WORK, 'check'), ['pull', '-q', ref]);
  const check = await lamina(path.join(WORK, 'check'), ['run', '--rm', ref, 'sh', '-c', 'ls /data | wc -l']);
  if (check.out.trim() !== String(LAYERS_MB.length)) throw new Error(`lamina run: unexpected output ${JSON.stringify(check.out)}`);
  await rm(path.join(WORK, 'check'), { recursive: true, force: true });

  await measure();

  const lines = [];
  const cpu = (os.cpus()[0]?.model ?? '?').trim();
  const fs = (await exec('findmnt', ['-no', 'FSTYPE', '-T', WORK]).catch(() => ({ out: '?' }))).out.trim();
  const versions = {
    node: process.version,
    skopeo: (await exec('skopeo', ['--version'])).out.trim().replace(/^skopeo version /, ''),
    umoci: (await exec('umoci', ['--version'])).out.trim().replace(/^umoci version /, ''),
    registry: (await exec('docker-registry', ['--version'])).out.trim().split(' ').pop(),
  };
  lines.push(`Image: ${manifest.layers.length} layers (busybox, ${LAYERS_MB.map((m) => `${m} MiB`).join(', ')} random), ${(bytes / 1e6).toFixed(0)} MB gzip, pushed by skopeo to docker-registry ${versions.registry} on 127.0.0.1.`);
  lines.push(`Machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, work dir on ${fs}; node ${versions.node}, skopeo ${versions.skopeo}, umoci ${versions.umoci}. Medians of ${RUNS} runs, fresh store / directory each run. Load average ${loadStart} at the start, ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at the end.`);
  lines.push('');
  lines.push('| case | lamina | peer | peer median | lamina median | lamina / peer | best runs, lamina / peer | goal |');
  lines.push('|---|---|---|---:|---:|---:|---:|---|');
  const goals = { pull: 1, 'pull -> shell': 0.5 };
  const verdicts = [];
  for (const [name, by] of Object.entries(results)) {
    const [mine, peer] = Object.keys(by);
    const a = median(by[mine]);
    const b = median(by[peer]);
    const ok = a <= b * goals[name];
    verdicts.push(ok);
    const what = name === 'pull' ? ['`lamina pull`', '`skopeo copy docker:// oci:`'] : ['`lamina pull && lamina run --rm IMG true`', '`skopeo copy` + `umoci unpack` + `chroot ROOTFS /bin/true`'];
    const best = Math.min(...by[mine]) / Math.min(...by[peer]);
    lines.push(`| ${name} | ${what[0]} | ${what[1]} | ${b.toFixed(2)} s | ${a.toFixed(2)} s | ${(a / b).toFixed(2)}× | ${best.toFixed(2)}× | ${goals[name] === 1 ? '≤ 1×' : '≤ 0.5×'}: ${ok ? 'met' : 'NOT met'} |`);
  }
  lines.push('');
  lines.push(`Throughput (median): lamina pull ${(bytes / 1e6 / median(results.pull.lamina)).toFixed(0)} MB/s, skopeo copy ${(bytes / 1e6 / median(results.pull.skopeo)).toFixed(0)} MB/s.`);
  lines.push('');
  lines.push('All runs (s):');
  for (const [name, by] of Object.entries(results)) {
    for (const [s, xs] of Object.entries(by)) lines.push(`- ${name}, ${s}: ${xs.map((x) => x.toFixed(2)).join(', ')}`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n`);
  if (MD) {
    appendFileSync(MD, `\n## Pull from a local registry: lamina against skopeo (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)\n\n${lines.join('\n')}\n`);
    say(`appended to ${MD}`);
  }
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ date: new Date().toISOString(), runs: RUNS, layersMb: LAYERS_MB, bytes, versions, results }, null, 2));
  if (!verdicts.every(Boolean)) say('WARNING: a goal was not met (see the table)');
} catch (err) {
  failed = true;
  say(`failed: ${err.stack ?? err}`);
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);
