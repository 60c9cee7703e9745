// The namespaces a container's process runs in, and the two ways into them through lamina-exec:
// `init` starts a container's first process, `join` starts another one in it (exec).
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { execa } from 'execa';
import type { Credentials } from './user.js';

export interface Volume {
  host: string;
  target: string;
  readOnly: boolean;
}

/** What lamina-exec needs to start a process: who, where, with which environment and privileges. */
export interface ExecProcess {
  argv: string[];
  env: string[];
  cwd: string;
  cred: Credentials;
  /** lamina-exec's privilege options (security.ts privilegeArgs). */
  privileges: string[];
  tty: boolean;
}

export interface SandboxOpts {
  /** The container's merged view (a lamina mount); every mountpoint below must exist in it. */
  rootfs: string;
  hostname: string;
  /** Host directory holding hosts, hostname and resolv.conf for the container, and the env file. */
  etcDir: string;
  process: ExecProcess;
  volumes: Volume[];
  /** A network namespace of its own (else the host's). */
  privateNetwork: boolean;
  /** Bring its loopback up here (--network none; pasta does it for a private network). */
  loopback: boolean;
  /** A host binary bound at /dev/init and run as PID 1 (--init). */
  init?: string;
  /** sysfs read-write and nothing masked (--privileged). */
  privileged: boolean;
  masked: string[];
  readonly: string[];
  /** stdin is a pipe the caller writes (-i); else /dev/null. */
  stdin: boolean;
}

/**
 * Runs in new mount, UTS, IPC (and network) namespaces: mounts a read-only /sys, a minimal /dev
 * and the /etc files into the rootfs, then hands over to lamina-exec init, which creates the PID
 * namespace, mounts /proc and pivots into the root. Host tools run with a clean environment of
 * their own, so an image's LD_PRELOAD never reaches them. Exit 125: the sandbox itself failed.
 */
const SCRIPT = `
fail() { echo "lamina run: $*" >&2; exit 125; }
root=$1 host=$2 etc=$3 init=$4 sysmode=$5 nvol=$6; shift 6
M=/usr/bin/mount
$M --make-rprivate / || fail "making mounts private"
$M -t sysfs -o $sysmode,nosuid,nodev,noexec sysfs "$root/sys" || fail "mounting /sys"
$M -t tmpfs -o nosuid,mode=755,size=65536k tmpfs "$root/dev" || fail "mounting /dev"
for d in null zero full random urandom tty; do
  /usr/bin/touch "$root/dev/$d" && $M --bind "/dev/$d" "$root/dev/$d" || fail "binding /dev/$d"
done
/usr/bin/mkdir -p "$root/dev/pts" "$root/dev/shm" "$root/dev/mqueue"
$M -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$root/dev/pts" || fail "mounting /dev/pts"
$M -t tmpfs -o nosuid,nodev,mode=1777,size=65536k shm "$root/dev/shm" || fail "mounting /dev/shm"
$M -t mqueue -o nosuid,nodev,noexec mqueue "$root/dev/mqueue" || fail "mounting /dev/mqueue"
/usr/bin/ln -s pts/ptmx "$root/dev/ptmx"; /usr/bin/ln -s /proc/self/fd "$root/dev/fd"
/usr/bin/ln -s /proc/self/fd/0 "$root/dev/stdin"; /usr/bin/ln -s /proc/self/fd/1 "$root/dev/stdout"; /usr/bin/ln -s /proc/self/fd/2 "$root/dev/stderr"
if [ -n "$init" ]; then /usr/bin/touch "$root/dev/init" && $M --bind -o ro "$init" "$root/dev/init" || fail "binding the init"; fi
for f in hosts hostname resolv.conf; do $M --bind "$etc/$f" "$root/etc/$f" || fail "binding /etc/$f"; done
while [ "$nvol" -gt 0 ]; do
  $M --bind "$1" "$root$2" || fail "mounting volume $1 on $2"
  [ "$3" = ro ] && { $M -o remount,bind,ro "$root$2" || fail "making volume $2 read-only"; }
  shift 3; nvol=$((nvol - 1))
done
/usr/bin/hostname "$host" || fail "setting the hostname"
exec "$@"
`;

/** native/lamina-exec.c, built by scripts/build-native.mjs beside the lamina-sys addon. */
export function execHelper(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('lamina-sys/package.json')), 'lamina-exec');
}

/** Host tools get only this environment; the container's reaches the command through a file. */
export const HOST_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

/** Writes the NUL-separated environment file lamina-exec reads (0600: it may hold secrets). */
export async function writeEnvFile(file: string, env: string[]): Promise<void> {
  await writeFile(file, env.map((e) => `${e}\0`).join(''), { mode: 0o600 });
}

/** lamina-exec's options for the process itself, shared by init and join. */
export function processArgs(p: ExecProcess, envFile: string): string[] {
  return ['--cwd', p.cwd, '--uid', String(p.cred.uid), '--gid', String(p.cred.gid),
    ...(p.cred.groups.length ? ['--groups', p.cred.groups.join(',')] : []), '--env-file', envFile,
    ...p.privileges, ...(p.tty ? ['--tty'] : [])];
}

/**
 * Starts the sandbox. Its fd 3 is lamina-exec's sync channel: "ready" once the namespaces exist,
 * then it waits for "go" (the network is connected by then), then reports "pid N" and takes
 * window sizes. setpriv gives it a parent-death signal: it dies with the caller, and the container with it.
 */
export async function spawnSandbox(o: SandboxOpts): Promise<{ proc: SandboxProcess }> {
  const envFile = path.join(o.etcDir, 'environment');
  await writeEnvFile(envFile, o.process.env);
  const argv = o.init ? ['/dev/init', '--', ...o.process.argv] : o.process.argv;
  const exec = [execHelper(), 'init', '--root', o.rootfs, ...processArgs(o.process, envFile), '--sync-fd', '3',
    ...(o.loopback ? ['--lo'] : []), ...o.masked.flatMap((p) => ['--mask', p]), ...o.readonly.flatMap((p) => ['--readonly', p]),
    '--', ...argv];
  const ns = ['--mount', '--uts', '--ipc', ...(o.privateNetwork ? ['--net'] : [])];
  const args = ['--pdeathsig', 'SIGKILL', '--', '/usr/bin/unshare', ...ns, '/bin/sh', '-c', SCRIPT, 'lamina-sandbox',
    o.rootfs, o.hostname, o.etcDir, o.init ?? '', o.privileged ? 'rw' : 'ro', String(o.volumes.length),
    ...o.volumes.flatMap((v) => [v.host, v.target, v.readOnly ? 'ro' : 'rw']), ...exec];
  // wrapped: an execa subprocess is a promise, and returning it from an async function would await it
  return { proc: sandboxProcess(args, o.stdin) };
}

function sandboxProcess(args: string[], stdin: boolean) {
  return execa('/usr/bin/setpriv', args, {
    env: HOST_ENV, extendEnv: false, reject: false, buffer: false, stripFinalNewline: false,
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
  });
}

/** The sandbox's process: stdout, stderr and the sync channel (fd 3) are pipes. */
export type SandboxProcess = ReturnType<typeof sandboxProcess>;
