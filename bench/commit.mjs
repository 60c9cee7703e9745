#!/usr/bin/env node
// What `lamina commit` costs, in two cases:
//  1. one changed 1 MiB file on top of a large image (random, incompressible files), the
//     change made through a container mount and committed while mounted (so the mount
//     flush is included): commit must not depend on the image's size (and, for scale,
//     `lamina export` of the whole container);
//  2. 20,000 new small files in the writable layer, against what it takes to tar and
//     gzip the same upper dir (`tar -C upper -cf - . | gzip -6`) and against `umoci repack`
//     of the same files added to an unpacked bundle.
// Every figure is the median of N runs of the real CLI (a fresh node process each time),
// wall time and CPU time (user + sys).
//
// Usage: node bench/commit.mjs [--image-mb 400] [--files 20000] [--runs 5] [--keep]
// Needs root, /dev/fuse, umoci, and the built project (npm run build).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, numberArg as arg, timed as timedRuns } from './cli-timing.mjs';

const IMAGE_MB = arg('image-mb', 400);
const FILES = arg('files', 20_000);
const RUNS = arg('runs', 5);
const KEEP = process.argv.includes('--keep');

const work = mkdtempSync(path.join(tmpdir(), 'lamina-bench-commit-'));
const root = path.join(work, 'store');
const env = { ...process.env, LAMINA_RUN_DIR: path.join(work, 'run') };
const say = (s) => process.stderr.write(`${s}\n`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
const lamina = (...args) => run(process.execPath, [BIN, '--root', root, ...args]).trim();
const sh = (script) => run('bash', ['-o', 'pipefail', '-c', script]);

const timed = (cmd, args, runs = RUNS) => timedRuns(cmd, args, { env, runs });
const fmt = (r) => `${r.wall.toFixed(2)} s wall (min ${r.min.toFixed(2)}, max ${r.max.toFixed(2)}), ${r.cpu.toFixed(2)} s CPU`;
const cliArgs = (...args) => [BIN, '--root', root, ...args];

function randomFile(file, bytes) {
  const buf = Buffer.allocUnsafe(Math.min(bytes, 8 << 20));
  const parts = [];
  for (let left = bytes; left > 0; left -= buf.length) parts.push(randomFillSync(buf).subarray(0, Math.min(left, buf.length)));
  writeFileSync(file, Buffer.concat(parts));
}

/** `count` small text files (64 B .. 4 KiB) in 100 directories under `dir`. */
function smallFiles(dir, count) {
  const text = Buffer.alloc(4096);
  for (let i = 0; i < text.length; i++) text[i] = 97 + ((i * 7919) % 26);
  for (let i = 0; i < count; i++) {
    const d = path.join(dir, `d${i % 100}`);
    if (i < 100) mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, `f${i}.txt`), text.subarray(0, 64 + ((i * 2654435761) % 4032)));
  }
}

const mnt = path.join(work, 'mnt');
try {
  // --- 1. a large image, one changed 1 MiB file ---------------------------
  say(`building a ${IMAGE_MB} MB image of random files ...`);
  const rootfs = path.join(work, 'rootfs');
  mkdirSync(path.join(rootfs, 'big'), { recursive: true });
  mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
  const per = 40 << 20;
  for (let i = 0; i * per < IMAGE_MB << 20; i++) randomFile(path.join(rootfs, 'big', `blob${i}`), Math.min(per, (IMAGE_MB << 20) - i * per));
  randomFile(path.join(rootfs, 'etc/one.bin'), 1 << 20);
  sh(`tar -C ${rootfs} -cf ${work}/image.tar . && rm -rf ${rootfs}`);
  lamina('import', `${work}/image.tar`, 'bench/big:1');
  rmSync(`${work}/image.tar`);
  lamina('create', '--name', 'one', 'bench/big:1');
  mkdirSync(mnt);
  lamina('mount', 'one', mnt);
  sh(`head -c 1048576 /dev/urandom > ${mnt}/etc/one.bin`);
  const cli = timed(process.execPath, cliArgs('ps'));
  const mounted = timed(process.execPath, cliArgs('commit', 'one'));
  lamina('umount', mnt);
  const unmounted = timed(process.execPath, cliArgs('commit', 'one'));
  const exported = timed(process.execPath, cliArgs('export', '-o', `${work}/export.tar`, 'one'), 3);
  const catTar = timed('sh', ['-c', `cat ${work}/export.tar > ${work}/copy.tar`], 3);
  rmSync(`${work}/export.tar`);
  rmSync(`${work}/copy.tar`);
  say('');
  console.log(`1. commit, one changed 1 MiB file over a ${IMAGE_MB} MB image (median of ${RUNS}, whole CLI process)`);
  console.log(`   mounted (includes sync -f of the mount): ${fmt(mounted)}`);
  console.log(`   unmounted:                               ${fmt(unmounted)}`);
  console.log(`   for scale, \`lamina ps\` (node start + store open): ${fmt(cli)}`);
  console.log(`   export of the whole container to a file (median of 3): ${fmt(exported)}; cat of that file to another: ${fmt(catTar)}`);

  // --- 2. 20,000 new small files -----------------------------------------
  say(`writing ${FILES} small files ...`);
  const id = lamina('create', '--name', 'many', 'bench/big:1');
  const upper = path.join(root, 'containers', id, 'upper');
  smallFiles(path.join(upper, 'new'), FILES);
  const du = sh(`du -sb ${upper}/new | cut -f1`).trim();
  const commit = timed(process.execPath, cliArgs('commit', 'many'));
  const tarGz = timed('bash', ['-o', 'pipefail', '-c', `tar -C ${upper} -cf - . | gzip -6 > /dev/null`]);
  const tarOnly = timed('sh', ['-c', `tar -C ${upper} -cf - . > /dev/null`]);
  // umoci: the same files added to an unpacked (empty) bundle, then repack.
  const layout = path.join(work, 'oci');
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:t`]);
  run('umoci', ['unpack', '--image', `${layout}:t`, `${work}/bundle`]);
  smallFiles(path.join(work, 'bundle/rootfs/new'), FILES);
  const umoci = timed('umoci', ['repack', '--image', `${layout}:t`, `${work}/bundle`]);
  console.log(`2. ${FILES} new small files (${(Number(du) / 1e6).toFixed(1)} MB of data), median of ${RUNS}`);
  console.log(`   lamina commit:                   ${fmt(commit)}`);
  console.log(`   tar -C upper -cf - . | gzip -6:  ${fmt(tarGz)}`);
  console.log(`   tar -C upper -cf - . (no gzip):  ${fmt(tarOnly)}`);
  console.log(`   umoci repack:                    ${fmt(umoci)}`);
} finally {
  spawnSync('umount', ['-l', mnt]);
  if (KEEP) say(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
