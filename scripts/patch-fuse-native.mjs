#!/usr/bin/env node
// Rebuilds fuse-native's addon with lamina's stat patch: a 22-int stat layout
// carrying 64-bit inode numbers and nanosecond times (stock: ms and 32-bit ino).
// The stock 18-int layout still works, so stock index.js keeps working.
// Run after `npm install` (postinstall); needs cc, pkg-config and libfuse-dev (2.9).
// Usage: node scripts/patch-fuse-native.mjs [--check]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const pkgDir = path.dirname(require.resolve('fuse-native/package.json'));
const napiMacros = path.dirname(require.resolve('napi-macros/napi-macros.h'));
const releaseDir = path.join(pkgDir, 'build', 'Release');
const out = path.join(releaseDir, 'fuse.node');
const stamp = path.join(pkgDir, 'build', 'lamina', 'source.sha256');

const WIDE = `
// lamina patch: 22-int layout = mode uid gid size(2) dev nlink ino(2) rdev blksize
// blocks(2) then atime, mtime, ctime as sec(2, int64) + nsec.
static const uint32_t lamina_stat_wide = 22;

static void lamina_timespec (struct timespec *ts, uint32_t **ints) {
  int64_t sec = (int64_t) uint32s_to_uint64(ints);
  ts->tv_sec = sec;
  ts->tv_nsec = *((*ints)++);
}

static void lamina_populate_stat (uint32_t *ints, size_t len, struct stat *stat) {
  if (len < lamina_stat_wide * sizeof(uint32_t)) return populate_stat(ints, stat);
  stat->st_mode = *ints++;
  stat->st_uid = *ints++;
  stat->st_gid = *ints++;
  stat->st_size = uint32s_to_uint64(&ints);
  stat->st_dev = *ints++;
  stat->st_nlink = *ints++;
  stat->st_ino = uint32s_to_uint64(&ints);
  stat->st_rdev = *ints++;
  stat->st_blksize = *ints++;
  stat->st_blocks = uint32s_to_uint64(&ints);
  lamina_timespec(&stat->st_atim, &ints);
  lamina_timespec(&stat->st_mtim, &ints);
  lamina_timespec(&stat->st_ctim, &ints);
}

// lamina patch: the caller's uid/gid for ops that create entries (owner of the new entry).
#define LAMINA_CTX l->uid = fuse_get_context()->uid; l->gid = fuse_get_context()->gid;
#define LAMINA_CTX_ARGV(pos) napi_create_uint32(env, l->uid, &(argv[pos])); napi_create_uint32(env, l->gid, &(argv[pos + 1]));

`;

/**
 * Edits appending the caller's uid and gid to the JS arguments of an op that creates an entry:
 * `fields` are the op's own `l->x = x;` lines, `args` its own napi argument lines.
 */
function callerEdits(op, argc, rest, fields, args) {
  const from = `(${op}, ${argc}, ${rest}, {\n  l->path = path;\n${fields}}, {\n  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n${args}`;
  const to = `(${op}, ${argc + 2}, ${rest}, {\n  l->path = path;\n${fields}  LAMINA_CTX\n}, {\n  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n${args}  LAMINA_CTX_ARGV(${argc + 2})\n`;
  return [[from, to, 1]];
}

/** [anchor, replacement, expected occurrences] */
const EDITS = [
  ['static void populate_statvfs (', `${WIDE}static void populate_statvfs (`, 1],
  ['populate_stat(ints, l->stat);', 'lamina_populate_stat(ints, ints_len, l->stat);', 2],
  ['populate_stat(stats_array, &st);', 'lamina_populate_stat(stats_array, stats_array_len, &st);', 1],
  // stock bug: utimens passes atime twice
  ['FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)', 'FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)', 1],
  ['  NAPI_EXPORT_UINT32(op_rmdir)\n}', '  NAPI_EXPORT_UINT32(op_rmdir)\n  NAPI_EXPORT_UINT32(lamina_stat_wide)\n  NAPI_EXPORT_UINT32(lamina_caller)\n}', 1],
  ['static const uint32_t lamina_stat_wide = 22;', 'static const uint32_t lamina_stat_wide = 22;\nstatic const uint32_t lamina_caller = 1;', 1],
  ...callerEdits('create', 2, '1, (const char *path, mode_t mode, struct fuse_file_info *info)',
    '  l->mode = mode;\n  l->info = info;\n', '  napi_create_uint32(env, l->mode, &(argv[3]));\n'),
  ...callerEdits('mknod', 3, '0, (const char *path, mode_t mode, dev_t dev)', '  l->mode = mode;\n  l->dev = dev;\n',
    '  napi_create_uint32(env, l->mode, &(argv[3]));\n  napi_create_uint32(env, l->dev, &(argv[4]));\n'),
  ...callerEdits('symlink', 2, '0, (const char *path, const char *dest)', '  l->dest = dest;\n',
    '  napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH, &(argv[3]));\n'),
  ...callerEdits('mkdir', 2, '0, (const char *path, mode_t mode)', '  l->mode = mode;\n', '  napi_create_uint32(env, l->mode, &(argv[3]));\n'),
];

function patched(src) {
  for (const [from, to, n] of EDITS) {
    const found = src.split(from).length - 1;
    if (found !== n) throw new Error(`fuse-native.c: expected ${n}× ${JSON.stringify(from)}, found ${found}; fuse-native changed, update the patch`);
    src = src.split(from).join(to);
  }
  return src;
}

function pkgConfig(...args) {
  try {
    return execFileSync('pkg-config', [...args, 'fuse'], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean);
  } catch (err) {
    throw new Error('pkg-config fuse failed: install libfuse-dev (libfuse 2.9 headers)', { cause: err });
  }
}

function build(src) {
  const work = path.dirname(stamp);
  mkdirSync(work, { recursive: true });
  mkdirSync(releaseDir, { recursive: true });
  const cfile = path.join(work, 'fuse-native.c');
  writeFileSync(cfile, src);
  const nodeInclude = path.join(path.dirname(process.execPath), '..', 'include', 'node');
  const tmp = path.join(work, `fuse-${process.pid}.node`); // outside build/Release: node-gyp-build loads any *.node there
  execFileSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', `-I${nodeInclude}`, `-I${napiMacros}`,
    ...pkgConfig('--cflags'), cfile, '-o', tmp, ...pkgConfig('--libs'), '-lpthread'], { stdio: 'inherit' });
  const loaded = require(tmp);
  if (loaded.lamina_stat_wide !== 22) throw new Error(`built addon does not export lamina_stat_wide: ${tmp}`);
  renameSync(tmp, out);
}

const src = patched(readFileSync(path.join(pkgDir, 'fuse-native.c'), 'utf8'));
const hash = createHash('sha256').update(src).digest('hex');
const current = existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash;
if (process.argv.includes('--check')) {
  console.log(current ? `patched: ${out}` : 'not patched (stock prebuild in use)');
  process.exitCode = current ? 0 : 1;
} else if (current) {
  console.log(`fuse-native already patched: ${out}`);
} else {
  build(src);
  writeFileSync(stamp, hash);
  console.log(`fuse-native patched and rebuilt: ${out}`);
}
