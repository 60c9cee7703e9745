#!/usr/bin/env node
// What the build cache saves: a multi-stage Dockerfile (COPY of a generated context, RUN steps
// that write thousands of files and hash a large one, metadata steps, COPY --from) built with
// --no-cache, against the same build unchanged (every step a cache hit). The bar: an
// unchanged rebuild takes under 10% of the full build's time.
// Every figure is the median of N runs of the real CLI (a fresh node process each time): wall
// time and CPU time (user + sys, children included).
//
// Usage: node bench/build.mjs [--files 2000] [--big-mb 32] [--runs 5] [--keep]
// Needs root, /dev/fuse, busybox-static, and the built project (npm run build).
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, numberArg as arg, timed as timedRuns } from './cli-timing.mjs';

const FILES = arg('files', 2000);
const BIG_MB = arg('big-mb', 32);
const RUNS = arg('runs', 5);
const KEEP = process.argv.includes('--keep');

const work = mkdtempSync(path.join(tmpdir(), 'lamina-bench-build-'));
const root = path.join(work, 'store');
const env = { ...process.env, LAMINA_RUN_DIR: path.join(work, 'run') };
const say = (s) => process.stderr.write(`${s}\n`);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
const lamina = (...args) => run(process.execPath, [BIN, '--root', root, ...args]);

/** Median times of `runs` runs of lamina with `args`; `check` sees each run's stdout. */
const timed = (args, check, runs = RUNS) => timedRuns(process.execPath, [BIN, '--root', root, ...args], { env, runs, check });

/** A busybox rootfs imported as bench/base:1 (no registry needed). */
function baseImage() {
  const rootfs = path.join(work, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev']) mkdirSync(path.join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'mkdir', 'seq', 'md5sum', 'cat', 'cp', 'echo', 'ls', 'wc', 'head', 'rm']) symlinkSync('busybox', path.join(rootfs, 'bin', a));
  writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\n');
  const tarFile = path.join(work, 'rootfs.tar');
  run('tar', ['-cf', tarFile, '--numeric-owner', '-C', rootfs, '.']);
  lamina('import', tarFile, 'bench/base:1');
}

const DOCKERFILE = `FROM bench/base:1 AS gen
ENV OUT=/out
WORKDIR /src
COPY src/ ./
COPY big.bin /data/big.bin
RUN mkdir -p $OUT/gen && for i in $(seq 1 3000); do echo "file $i" > $OUT/gen/f$i; done
RUN md5sum /data/big.bin > $OUT/big.md5 && ls /src | wc -l > $OUT/count
RUN cp -r /src $OUT/src
LABEL stage=gen
FROM bench/base:1
COPY --from=gen /out /app
ENV APP=/app
WORKDIR /app
RUN cat big.md5 count > summary
CMD ["cat", "/app/summary"]
`;

/** The context: FILES small source files, one BIG_MB incompressible file, the Dockerfile. */
function context() {
  const ctx = path.join(work, 'ctx');
  mkdirSync(path.join(ctx, 'src'), { recursive: true });
  for (let i = 0; i < FILES; i++) writeFileSync(path.join(ctx, 'src', `m${i}.c`), `int f${i}(void) { return ${i}; }\n`);
  const big = Buffer.alloc(BIG_MB << 20);
  randomFillSync(big);
  writeFileSync(path.join(ctx, 'big.bin'), big);
  writeFileSync(path.join(ctx, 'Dockerfile'), DOCKERFILE);
  return ctx;
}

try {
  baseImage();
  const ctx = context();
  const steps = DOCKERFILE.trim().split('\n').filter((l) => !l.startsWith('FROM')).length;
  const hits = (out) => (out.match(/^ ---> Using cache$/gm) ?? []).length;
  say(`context: ${FILES} files + ${BIG_MB} MiB; ${steps} steps besides FROM; ${RUNS} runs each`);
  lamina('build', '-t', 'bench/app:1', ctx); // warms the page cache and the base image's view
  const full = timed(['build', '--no-cache', '-t', 'bench/app:1', ctx], (out) => {
    if (hits(out) !== 0) throw new Error('a --no-cache build used the cache');
  });
  const cached = timed(['build', '-t', 'bench/app:1', ctx], (out) => {
    if (hits(out) !== steps) throw new Error(`an unchanged rebuild had ${hits(out)} of ${steps} cache hits`);
  });
  const pct = (a, b) => `${((100 * a) / b).toFixed(1)}%`;
  console.log(`full build (--no-cache)  wall ${full.wall.toFixed(2)} s   cpu ${full.cpu.toFixed(2)} s`);
  console.log(`unchanged rebuild        wall ${cached.wall.toFixed(2)} s   cpu ${cached.cpu.toFixed(2)} s   (all ${steps} steps cached)`);
  console.log(`rebuild / full           wall ${pct(cached.wall, full.wall)}   cpu ${pct(cached.cpu, full.cpu)}   (bar: < 10%)`);
} finally {
  if (KEEP) say(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
