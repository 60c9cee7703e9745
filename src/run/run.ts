import { rmdirSync, unlinkSync } from 'node:fs';
import { lstat, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mountContainer, unmountDir } from '../container/container-mounts.js';
import { HostUpper } from '../container/upper/host-upper.js';
import { ImgError } from '../store/errors.js';
import { createContainer, findContainer, removeContainer, type ContainerRecord } from '../container/containers.js';
import { readConfig } from '../image/inspect.js';
import { pull } from '../registry/pull.js';
import { findImage } from '../image/resolve.js';
import type { Store } from '../store/store.js';
import { runProcess, type RunFlags } from './config.js';
import { runSandboxed, type Volume } from './sandbox.js';
import { resolveUser } from './user.js';

export interface RunOpts extends RunFlags {
  image: string;
  name?: string;
  rm: boolean;
  interactive: boolean;
  tty: boolean;
  volumes: string[];
  /** Where progress and notices go (stderr). */
  say: (line: string) => void;
  /** Receives the command's stdout and stderr instead of lamina's own (build -q). */
  output?: (chunk: Buffer) => void;
}

/** Paths the sandbox mounts over; missing ones are created in the writable layer first. */
const MOUNT_DIRS = ['/proc', '/sys', '/dev', '/etc'];
const ETC_FILES = ['hosts', 'hostname', 'resolv.conf'];
const HELD = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** `-v HOST:DIR[:ro|rw]`. */
export function parseVolume(spec: string): Volume {
  const [host, target, mode, ...rest] = spec.split(':');
  const bad = (why: string) => new ImgError('INVALID_ARGUMENT', `invalid volume "${spec}": ${why}`);
  if (!host || !target || rest.length) throw bad('want HOSTDIR:DIR[:ro]');
  if (!path.isAbsolute(host) || !path.isAbsolute(target)) throw bad('both paths must be absolute');
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw bad(`unknown mode "${mode}"`);
  return { host, target: path.posix.normalize(target), readOnly: mode === 'ro' };
}

/** The image ID, pulled first when the store does not have it (docker run's behaviour). */
export async function imageFor(store: Store, ref: string, say: (l: string) => void): Promise<string> {
  const hit = findImage(store, ref);
  if (hit) return hit.id;
  say(`Unable to find image '${ref}' locally`);
  const r = await pull(store, ref, { onEvent: (e) => e.kind === 'start' ? say(e.text) : e.status === 'Pull complete' && say(`${e.id}: Pull complete`) });
  say(`Digest: ${r.digest}`);
  say(`Status: Downloaded newer image for ${r.familiar}`);
  return r.id;
}

/** Host-side files bound over the container's /etc/hosts, /etc/hostname and /etc/resolv.conf. */
async function writeEtc(dir: string, hostname: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const resolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  await writeFile(path.join(dir, 'hosts'), `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`);
  await writeFile(path.join(dir, 'hostname'), `${hostname}\n`);
  await writeFile(path.join(dir, 'resolv.conf'), resolv);
}

const ignoreExists = (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EEXIST') throw err;
};

const exists = (p: string) => lstat(p).then(() => true, () => false);

/**
 * The first component of `p` that is a symlink in the rootfs, if any. Paths are
 * resolved here on the host, where an image's absolute link would point into the
 * host's own tree, so mountpoints must not pass through one.
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
interface Scaffold {
  made: string[];
  copied: Map<string, { mode: number; uid: number; gid: number }>;
}

/**
 * Mountpoints must exist in the rootfs; this process (not the mount's server) creates missing ones,
 * and the working directory (docker creates a missing one). Volume targets and the working directory
 * stay in the container, as in docker; the rest is scaffolding, removed again by removeScaffold.
 */
async function ensureMountpoints(rootfs: string, upperDir: string, volumes: Volume[], cwd: string): Promise<Scaffold> {
  const s: Scaffold = { made: [], copied: new Map() };
  const at = (p: string) => path.join(rootfs, p);
  const targets = [...MOUNT_DIRS, ...ETC_FILES.map((f) => `/etc/${f}`), ...volumes.map((v) => v.target)];
  for (const t of targets) {
    const link = await symlinkOn(rootfs, t);
    if (link) throw new ImgError('INVALID_ARGUMENT', `cannot mount on ${t}: ${link} is a symbolic link in the image`);
  }
  for (const d of MOUNT_DIRS) {
    if (await exists(at(d))) continue;
    await mkdir(at(d));
    s.made.push(d);
  }
  for (const f of ETC_FILES) {
    const p = `/etc/${f}`;
    if (await exists(at(p))) continue;
    if (!s.made.includes('/etc') && !s.copied.has('/etc') && !(await exists(path.join(upperDir, 'etc')))) {
      const st = await lstat(at('/etc'));
      s.copied.set('/etc', { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
    }
    // 'wx' creates only what is missing: opening an existing lower file for writing would copy it up.
    const made = await writeFile(at(p), '', { flag: 'wx' }).then(() => true, (err: NodeJS.ErrnoException) => {
      ignoreExists(err);
      return false;
    });
    if (made) s.made.push(p);
  }
  for (const d of volumes.map((v) => v.target)) await mkdir(at(d), { recursive: true });
  // A working directory behind a symlink is resolved inside the container by lamina-exec, never here.
  if (!(await symlinkOn(rootfs, cwd))) await mkdir(at(cwd), { recursive: true });
  return s;
}

/**
 * Removes the scaffolding from the (unmounted) writable layer where it is still as made: empty
 * placeholder files and directories, and copied-up directories left empty with their old owner and mode.
 */
function removeScaffold(upperDir: string, workDir: string, s: Scaffold): void {
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

async function runIn(store: Store, c: ContainerRecord, o: RunInOpts, rootfs: string, scaffold: { s?: Scaffold }): Promise<number> {
  const config = (await readConfig(store, c.imageId)).config;
  const proc = runProcess(config, o);
  const volumes = o.volumes.map(parseVolume);
  scaffold.s = await ensureMountpoints(rootfs, c.upperDir, volumes, proc.cwd);
  const read = (f: string) => readFile(path.join(rootfs, 'etc', f), 'utf8').catch(() => '');
  const cred = resolveUser(proc.user, await read('passwd'), await read('group'));
  const hostname = o.hostname ?? c.id.slice(0, 12);
  const etcDir = path.join(path.dirname(c.upperDir), 'etc');
  await writeEtc(etcDir, hostname);
  const env = proc.env.some((e) => e.startsWith('HOME=')) ? proc.env : [...proc.env, `HOME=${cred.home}`];
  return runSandboxed({ rootfs, hostname, etcDir, uid: cred.uid, gid: cred.gid, cwd: proc.cwd, argv: proc.argv,
    env: o.hostname ? env : [...env, `HOSTNAME=${hostname}`], volumes, interactive: o.interactive, tty: o.tty, output: o.output });
}

/** How to run a command in an existing container (runInContainer). */
export type RunInOpts = Omit<RunOpts, 'image' | 'name' | 'rm'> & {
  /** Leave the mount-point scaffolding in the writable layer (the container is removed next anyway). */
  keepScaffold?: boolean;
};

/**
 * Mounts container `c`, runs the command sandboxed with the merged view as root, and always
 * unmounts; the container stays. Until it returns, a signal must not kill lamina before it
 * unmounts: the sandbox forwards it to the command.
 */
export async function runInContainer(store: Store, c: ContainerRecord, o: RunInOpts): Promise<number> {
  const rootfs = path.join(path.dirname(c.upperDir), 'merged');
  const hold = () => undefined;
  for (const sig of HELD) process.on(sig, hold);
  try {
    await mkdir(rootfs, { recursive: true });
    // only the container reaches this mount (the store root is 0700): setuid binaries and devices work in it
    await mountContainer(store, c, rootfs, { suid: true });
    const scaffold: { s?: Scaffold } = {};
    try {
      return await runIn(store, c, o, rootfs, scaffold);
    } finally {
      await unmountDir(store, rootfs);
      // Cosmetic (it keeps `lamina diff` to the command's own changes): never let it hide the exit code.
      if (scaffold.s && !o.keepScaffold) {
        try {
          removeScaffold(c.upperDir, c.workDir, scaffold.s);
        } catch {
          // the placeholders stay, and show in diff
        }
      }
    }
  } finally {
    await rmdir(rootfs).catch(() => undefined); // never recursive: a mount that failed to go must keep its files
    for (const sig of HELD) process.off(sig, hold);
  }
}

/**
 * docker run: create a container for the image (pulling it if needed), mount it,
 * run the command sandboxed with the merged view as root, and always unmount.
 */
export async function runContainer(store: Store, o: RunOpts): Promise<number> {
  if (o.tty && !process.stdin.isTTY) throw new ImgError('INVALID_ARGUMENT', 'the input device is not a TTY');
  o.volumes.forEach(parseVolume); // validate before creating anything
  await imageFor(store, o.image, o.say);
  const c = await createContainer(store, o.image, { name: o.name });
  const hold = () => undefined;
  for (const sig of HELD) process.on(sig, hold);
  try {
    return await runInContainer(store, c, { ...o, keepScaffold: o.rm });
  } finally {
    if (o.rm) await removeContainer(store, findContainer(store, c.id));
    for (const sig of HELD) process.off(sig, hold);
  }
}
