#!/usr/bin/env node
// Builds native/lamina-sys.c (xattrs, mknod, renameat2, utimensat: what Node's fs lacks) into
// node_modules/lamina-sys/, so both dist/ and test builds load it as `lamina-sys`, and through
// native/Makefile the C binaries into native/build/: lamina-mountd (the mount server) and
// lamina-exec (starts container processes).
// Idempotent: rebuilds only when the source changed. Needs cc, libfuse3-dev, libseccomp-dev and Node's headers.
// Usage: node scripts/build-native.mjs [--check]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(repo, 'native', 'lamina-sys.c');
const outDir = path.join(repo, 'node_modules', 'lamina-sys');
const out = path.join(outDir, 'lamina-sys.node');
const stamp = path.join(outDir, 'source.sha256');

const digest = createHash('sha256').update(readFileSync(source)).update(process.version).digest('hex');
const current = existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest;
if (process.argv.includes('--check')) {
  console.log(current ? `built: ${out}` : 'not built');
  process.exitCode = current ? 0 : 1;
} else if (!current) {
  mkdirSync(outDir, { recursive: true });
  const nodeInclude = path.join(path.dirname(process.execPath), '..', 'include', 'node');
  const includes = [nodeInclude, '/usr/include/node'].filter((d) => existsSync(path.join(d, 'node_api.h')));
  if (!includes.length) throw new Error('node_api.h not found: install Node.js headers');
  const tmp = path.join(outDir, `build-${process.pid}.node`);
  execFileSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', ...includes.map((d) => `-I${d}`), source, '-o', tmp], { stdio: 'inherit' });
  if (createRequire(import.meta.url)(tmp).version !== 1) throw new Error('built lamina-sys addon does not load');
  renameSync(tmp, out);
  writeFileSync(path.join(outDir, 'package.json'), JSON.stringify({ name: 'lamina-sys', version: '1.0.0', private: true, main: 'lamina-sys.node' }, null, 2));
  writeFileSync(stamp, digest);
  console.log(`lamina-sys built: ${out}`);
} else {
  console.log(`lamina-sys up to date: ${out}`);
}

// lamina-mountd and lamina-exec (native/Makefile): make rebuilds only what changed; warnings are errors.
if (!process.argv.includes('--check')) {
  execFileSync('make', ['-s', '-C', path.join(repo, 'native'), 'all'], { stdio: 'inherit' });
}
