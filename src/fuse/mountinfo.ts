import { execFile } from 'node:child_process';
import { lstat, readFile, readlink, realpath, statfs } from 'node:fs/promises';
import path from 'node:path';
import { ImgError } from '../store/errors.js';

/** One line of /proc/self/mountinfo. */
export interface MountEntry {
  mountPoint: string;
  fstype: string;
  source: string;
}

/** 'dead': a FUSE mount whose server is gone (ENOTCONN); 'foreign': not a FUSE mount. */
export type MountState = 'none' | 'live' | 'dead' | 'foreign';

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** Parses mountinfo text (proc(5)); paths are octal-unescaped. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const [fstype, source] = post.split(' ');
    out.push({ mountPoint: unescape(pre.split(' ')[4]), fstype, source: unescape(source) });
  }
  return out;
}

/** The topmost mount at `dir` (absolute, canonical), if any. */
export async function findMount(dir: string): Promise<MountEntry | undefined> {
  const entries = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
  return entries.filter((e) => e.mountPoint === dir).pop();
}

/**
 * Absolute path with symlinks resolved in the parent only: stat of a dead mountpoint fails.
 * A symlink as the last component is refused: the kernel would mount on its target while
 * mountinfo, records and unmount look at the link's path, so the mount would be lost.
 */
export async function canonicalDir(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  if (abs === '/') return abs;
  const target = path.join(await realpath(path.dirname(abs)), path.basename(abs));
  // lstat fails on a dead mount (ENOTCONN) or a missing dir: the caller judges those
  if ((await lstat(target).catch(() => undefined))?.isSymbolicLink()) {
    const to = await readlink(target).catch(() => '?');
    throw new ImgError('INVALID_ARGUMENT', `mountpoint ${dir} is a symbolic link (to ${to}); give the directory itself`);
  }
  return target;
}

/** Whether a mount sits on `dir` and whether its FUSE server still answers. */
export async function probeMount(dir: string, timeoutMs = 2000): Promise<MountState> {
  const entry = await findMount(dir);
  if (!entry) return 'none';
  if (!entry.fstype.startsWith('fuse')) return 'foreign';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'live'>((resolve) => (timer = setTimeout(resolve, timeoutMs, 'live')));
  // statfs always reaches the server; stat may be answered from the kernel's attr cache
  const answer = statfs(dir).then(() => 'live' as const, (err: NodeJS.ErrnoException) =>
    (err.code === 'ENOTCONN' || err.code === 'ECONNABORTED' ? 'dead' : 'live'));
  try {
    return await Promise.race([answer, timeout]); // a hung server counts as live: unmount() handles it
  } finally {
    clearTimeout(timer);
  }
}

function run(cmd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 10_000 }, (err, _out, stderr) => resolve(err ? `${cmd}: ${stderr.trim() || err.message}` : undefined)));
}

/**
 * Unmounts `dir` with the first tool that works: fusermount3/fusermount (-z when lazy),
 * then `umount -l`. Returns the command used; throws with every tool's error.
 */
export async function detachMount(dir: string, lazy: boolean): Promise<string> {
  const tries: [string, string[]][] = [
    ['fusermount3', ['-u', ...(lazy ? ['-z'] : []), dir]],
    ['fusermount', ['-u', ...(lazy ? ['-z'] : []), dir]],
    ['umount', ['-l', dir]],
  ];
  const errors: string[] = [];
  for (const [cmd, args] of tries) {
    const err = await run(cmd, args);
    if (!err || !(await findMount(dir))) return [cmd, ...args].join(' ');
    errors.push(err);
  }
  throw new Error(`unmounting ${dir}: ${errors.join('; ')}`);
}
