// The container's root as the sandbox needs it: mountpoints in the writable layer (removed again
// afterwards when untouched), the host-side /etc files, and the user resolved from the image.
import { rmdirSync, unlinkSync } from 'node:fs';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HostUpper } from '../container/upper/host-upper.js';
import { ImgError } from '../store/errors.js';
import { readFileInRoot } from './in-root.js';
import type { Volume } from './sandbox.js';
import { resolveUser, type Credentials } from './user.js';

/** Paths the sandbox mounts over; missing ones are created in the writable layer first. */
const MOUNT_DIRS = ['/proc', '/sys', '/dev', '/etc'];
export const ETC_FILES = ['hosts', 'hostname', 'resolv.conf'];

const exists = (p: string) => lstat(p).then(() => true, () => false);

/**
 * The first component of `p` that is a symlink in the rootfs, if any. The sandbox mounts on
 * these paths from the host, where an image's absolute link would point into the host's own
 * tree, so mountpoints must not pass through one.
 */
async function symlinkOn(rootfs: string, p: string): Promise<string | undefined> {
  let cur = '';
  for (const part of p.split('/').filter(Boolean)) {
    cur += `/${part}`;
    const st = await lstat(path.join(rootfs, cur)).catch(() => undefined);
    if (!st) return undefined;
    if (st.isSymbolicLink()) return cur;
  }
  return undefined;
}

/**
 * What ensureMountpoints put in the writable layer only to have something to mount on
 * (docker keeps these in a hidden init layer, so they never show in `docker diff`):
 * the entries it made, and the lower directories it copied up to make them (with their owner and mode).
 */
export interface Scaffold {
  made: string[];
  copied: Map<string, { mode: number; uid: number; gid: number }>;
}

/** Creates a missing /etc file as an empty placeholder; true if it made one. */
async function placeholder(rootfs: string, upperDir: string, file: string, s: Scaffold): Promise<void> {
  const at = path.join(rootfs, file);
  if (await exists(at)) return;
  if (!s.made.includes('/etc') && !s.copied.has('/etc') && !(await exists(path.join(upperDir, 'etc')))) {
    const st = await lstat(path.join(rootfs, 'etc'));
    s.copied.set('/etc', { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
  }
  // 'wx' creates only what is missing: opening an existing lower file for writing would copy it up.
  const made = await writeFile(at, '', { flag: 'wx' }).then(() => true, (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
    return false;
  });
  if (made) s.made.push(file);
}

/**
 * Mountpoints must exist in the rootfs; this process (not the mount's server) creates missing ones.
 * Volume targets stay in the container, as in docker; the rest is scaffolding, removed again by
 * removeScaffold. Nothing of the container runs yet, so what is checked here stays as checked.
 */
export async function ensureMountpoints(rootfs: string, upperDir: string, volumes: Volume[]): Promise<Scaffold> {
  const s: Scaffold = { made: [], copied: new Map() };
  const targets = [...MOUNT_DIRS, ...ETC_FILES.map((f) => `/etc/${f}`), ...volumes.map((v) => v.target)];
  for (const t of targets) {
    const link = await symlinkOn(rootfs, t);
    if (link) throw new ImgError('INVALID_ARGUMENT', `cannot mount on ${t}: ${link} is a symbolic link in the image`);
  }
  for (const d of MOUNT_DIRS) {
    if (await exists(path.join(rootfs, d))) continue;
    await mkdir(path.join(rootfs, d));
    s.made.push(d);
  }
  for (const f of ETC_FILES) await placeholder(rootfs, upperDir, `/etc/${f}`, s);
  for (const d of volumes.map((v) => v.target)) await mkdir(path.join(rootfs, d), { recursive: true });
  return s;
}

/**
 * Removes the scaffolding from the (unmounted) writable layer where it is still as made: empty
 * placeholder files and directories, and copied-up directories left empty with their old owner and mode.
 */
export function removeScaffold(upperDir: string, workDir: string, s: Scaffold): void {
  const upper = new HostUpper(upperDir, workDir);
  const untouchedDir = (p: string) => {
    const e = upper.probe(p);
    return !!e && !e.whiteout && e.node.type === 'dir' && !e.opaque && !e.redirect && upper.names(p).length === 0 ? e : undefined;
  };
  for (const p of [...s.made].reverse()) {
    const e = upper.probe(p);
    if (e && !e.whiteout && e.node.type === 'file' && e.node.size === 0 && !e.metacopy) unlinkSync(upper.host(p));
    else if (untouchedDir(p)) rmdirSync(upper.host(p));
  }
  for (const [d, m] of s.copied) {
    const e = untouchedDir(d);
    if (e && e.node.mode === m.mode && e.node.uid === m.uid && e.node.gid === m.gid) rmdirSync(upper.host(d));
  }
}

/** The container's /etc/hosts: docker's lines, then --add-host entries. */
export function hostsFile(hostname: string, addHosts: string[]): string {
  const extra = addHosts.map((h) => {
    const i = h.indexOf(':');
    return `${h.slice(i + 1)}\t${h.slice(0, i)}\n`;
  }).join('');
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${extra}127.0.1.1\t${hostname}\n`;
}

/** Host-side files bound over the container's /etc/hosts, /etc/hostname and /etc/resolv.conf. */
export async function writeEtc(dir: string, hostname: string, addHosts: string[], resolv?: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const hostResolv = resolv ?? await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  await writeFile(path.join(dir, 'hosts'), hostsFile(hostname, addHosts));
  await writeFile(path.join(dir, 'hostname'), `${hostname}\n`);
  await writeFile(path.join(dir, 'resolv.conf'), hostResolv);
}

/** `-u` resolved against the container's own /etc/passwd and /etc/group, read without leaving `root`. */
export function credentialsIn(root: string, user: string): Credentials {
  return resolveUser(user, readFileInRoot(root, '/etc/passwd') ?? '', readFileInRoot(root, '/etc/group') ?? '');
}
