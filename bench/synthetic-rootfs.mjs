#!/usr/bin/env node
// Writes a synthetic rootfs-like tree to DIR: the benchmark's fallback base image when
// debootstrap or the Debian mirror is unavailable.
// Usage: node bench/synthetic-rootfs.mjs DIR
//
// Shape (deterministic, seeded): ~5,000 regular files in ~300 directories up to 5 levels
// deep, ~600 symlinks and a few hardlinks. File sizes follow a log-normal fit to a Debian
// minbase rootfs (median ~2 KiB, p90 ~50 KiB, p99 ~400 KiB, a few MiB-sized files), and
// the paths the benchmark's second layer whites out or makes opaque exist.
import { mkdirSync, writeFileSync, symlinkSync, linkSync, chmodSync } from 'node:fs';
import path from 'node:path';

const root = process.argv[2];
if (!root) {
  console.error('usage: synthetic-rootfs.mjs DIR');
  process.exit(2);
}

// xorshift32: the same tree on every host.
let seed = 0x1234abcd;
const rand = () => {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 2 ** 32;
};
const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
/** Log-normal with median 2.2 KiB and sigma 2.1 (p90 ≈ 33 KiB, p99 ≈ 300 KiB), capped at 4 MiB. */
const fileSize = () => Math.min(4 << 20, Math.max(0, Math.round(Math.exp(Math.log(2200) + 2.1 * gauss()))));

const DIRS = 300;
const FILES = 5000;
const SYMLINKS = 600;
const TOPS = ['etc', 'usr/bin', 'usr/sbin', 'usr/lib/x86_64-linux-gnu', 'usr/share/doc', 'usr/share/locale',
  'usr/share/man', 'usr/share/perl5', 'usr/lib/python3', 'var/lib/dpkg/info', 'var/log', 'lib/systemd'];
const words = ['core', 'util', 'lib', 'data', 'conf', 'share', 'base', 'net', 'sys', 'perl', 'apt', 'dpkg',
  'locale', 'man', 'init', 'misc', 'term', 'zone', 'info', 'doc'];
const word = () => words[Math.floor(rand() * words.length)];

const dirs = new Set();
const mk = (d) => { mkdirSync(path.join(root, d), { recursive: true, mode: 0o755 }); dirs.add(d); };
for (const t of TOPS) mk(t);
for (const d of ['tmp', 'root', 'home', 'dev', 'proc', 'sys', 'run', 'var/cache/apt', 'usr/share/doc/apt', 'etc/apt/apt.conf.d']) mk(d);
const list = () => [...dirs];
while (dirs.size < DIRS) {
  const parents = list().filter((d) => d.split('/').length < 5);
  const parent = parents[Math.floor(rand() * parents.length)];
  mk(`${parent}/${word()}${dirs.size}`);
}

const chunk = Buffer.alloc(1 << 16);
for (let i = 0; i < chunk.length; i++) chunk[i] = 32 + Math.floor(rand() * 95);
const content = (n) => {
  const b = Buffer.allocUnsafe(n);
  for (let o = 0; o < n; o += chunk.length) chunk.copy(b, o, 0, Math.min(chunk.length, n - o));
  return b;
};

const files = [];
const put = (rel, size, mode = 0o644) => {
  const p = path.join(root, rel);
  writeFileSync(p, content(size));
  chmodSync(p, mode);
  files.push(rel);
};
// The paths the benchmark's second layer touches.
put('etc/motd', 286);
put('etc/hostname', 12);
put('usr/bin/zdump', 27_000, 0o755);
for (let i = 0; i < 6; i++) put(`usr/share/doc/apt/file${i}`, 1500 + i * 400);
for (let i = 0; i < 8; i++) put(`etc/apt/apt.conf.d/${10 + i}${word()}`, 200 + i * 50);
const all = list();
while (files.length < FILES) {
  const d = all[Math.floor(rand() * all.length)];
  const exec = d.endsWith('bin');
  put(`${d}/${word()}-${files.length}${exec ? '' : '.dat'}`, fileSize(), exec ? 0o755 : 0o644);
}
for (let i = 0; i < SYMLINKS; i++) {
  const target = files[Math.floor(rand() * files.length)];
  const d = all[Math.floor(rand() * all.length)];
  const rel = path.relative(d, target);
  symlinkSync(rel, path.join(root, d, `link-${i}`));
}
for (let i = 0; i < 4; i++) linkSync(path.join(root, files[10 + i]), path.join(root, `${files[10 + i]}.hard`));
chmodSync(path.join(root, 'tmp'), 0o1777);
chmodSync(path.join(root, 'root'), 0o700);
console.error(`synthetic-rootfs: ${dirs.size} dirs, ${files.length} files, ${SYMLINKS} symlinks in ${root}`);
