import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export interface Volume {
  host: string;
  target: string;
  readOnly: boolean;
}

export interface SandboxOpts {
  /** The container's merged view (a lamina mount); every mountpoint below must exist in it. */
  rootfs: string;
  hostname: string;
  /** Host directory holding hosts, hostname and resolv.conf for the container. */
  etcDir: string;
  uid: number;
  gid: number;
  cwd: string;
  argv: string[];
  env: string[];
  volumes: Volume[];
  interactive: boolean;
  tty: boolean;
  /** Receives the command's stdout and stderr instead of lamina's own. */
  output?: (chunk: Buffer) => void;
}

/**
 * Runs as PID 1 of new mount, PID, UTS and IPC namespaces: mounts /proc, a
 * read-only /sys, a minimal /dev and the /etc files into the rootfs, then
 * execs the command there through lamina-exec (changes root, directory and IDs
 * and sets the container's environment; its exit codes 126/127 are docker's).
 * Host tools run with a clean environment of their own, so an image's
 * LD_PRELOAD never reaches them. Exit 125: the sandbox itself failed, as in docker.
 * setpriv gives unshare a parent-death signal, so nothing is left running
 * in the namespace when lamina itself is killed outright.
 */
const SCRIPT = `
fail() { echo "lamina run: $*" >&2; exit 125; }
root=$1 host=$2 etc=$3 uid=$4 gid=$5 wd=$6 envfile=$7 exe=$8 nvol=$9; shift 9
M=/usr/bin/mount
$M --make-rprivate / || fail "making mounts private"
$M -t proc -o nosuid,nodev,noexec proc "$root/proc" || fail "mounting /proc"
$M -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys" || fail "mounting /sys"
$M -t tmpfs -o nosuid,mode=755,size=65536k tmpfs "$root/dev" || fail "mounting /dev"
for d in null zero full random urandom tty; do
  /usr/bin/touch "$root/dev/$d" && $M --bind "/dev/$d" "$root/dev/$d" || fail "binding /dev/$d"
done
/usr/bin/mkdir -p "$root/dev/pts" "$root/dev/shm"
$M -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts" || fail "mounting /dev/pts"
$M -t tmpfs -o nosuid,nodev,mode=1777,size=65536k shm "$root/dev/shm" || fail "mounting /dev/shm"
/usr/bin/ln -s pts/ptmx "$root/dev/ptmx"; /usr/bin/ln -s /proc/self/fd "$root/dev/fd"
/usr/bin/ln -s /proc/self/fd/0 "$root/dev/stdin"; /usr/bin/ln -s /proc/self/fd/1 "$root/dev/stdout"; /usr/bin/ln -s /proc/self/fd/2 "$root/dev/stderr"
for f in hosts hostname resolv.conf; do $M --bind "$etc/$f" "$root/etc/$f" || fail "binding /etc/$f"; done
while [ "$nvol" -gt 0 ]; do
  $M --bind "$1" "$root$2" || fail "mounting volume $1 on $2"
  [ "$3" = ro ] && { $M -o remount,bind,ro "$root$2" || fail "making volume $2 read-only"; }
  shift 3; nvol=$((nvol - 1))
done
/usr/bin/hostname "$host" || fail "setting the hostname"
exec "$exe" "$root" "$wd" "$uid" "$gid" "$envfile" -- "$@"
`;

/** The host PID of the namespace's PID 1: the child of unshare. */
async function childOf(ppid: number): Promise<number | undefined> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === ppid) return Number(name);
  }
  return undefined;
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/** native/lamina-exec.c, built by scripts/build-native.mjs beside the lamina-sys addon. */
function execHelper(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('lamina-sys/package.json')), 'lamina-exec');
}

/** Host tools get only this environment; the container's reaches the command through a file. */
const HOST_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

/** Run the command sandboxed; resolves with its exit code (128+N when killed by signal N). */
export async function runSandboxed(o: SandboxOpts): Promise<number> {
  const envFile = path.join(o.etcDir, 'environment');
  await writeFile(envFile, o.env.map((e) => `${e}\0`).join(''), { mode: 0o600 });
  const args = [
    '--mount', '--pid', '--uts', '--ipc', '--fork', '--kill-child', '/bin/sh', '-c', SCRIPT, 'lamina-sandbox',
    o.rootfs, o.hostname, o.etcDir, String(o.uid), String(o.gid), o.cwd, envFile, execHelper(), String(o.volumes.length),
    ...o.volumes.flatMap((v) => [v.host, v.target, v.readOnly ? 'ro' : 'rw']), ...o.argv,
  ];
  const env = HOST_ENV;
  // With a terminal the child stays in our process group, so the terminal's Ctrl-C reaches it directly.
  // setpriv: if lamina dies (SIGKILL), unshare gets SIGKILL too, and its --kill-child takes the namespace down.
  const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', '/usr/bin/unshare', ...args],
    { env, stdio: [o.interactive ? 'inherit' : 'ignore', o.output ? 'pipe' : 'inherit', o.output ? 'pipe' : 'inherit'] });
  if (o.output) for (const s of [child.stdout!, child.stderr!]) s.on('data', o.output);
  const forward = (sig: NodeJS.Signals) => {
    if (o.tty && sig === 'SIGINT') return;
    void childOf(child.pid!).then((pid) => pid && process.kill(pid, sig)).catch(() => undefined);
  };
  for (const s of FORWARDED) process.on(s, forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      // 'close', not 'exit': piped output is complete only when its streams end.
      child.once('close', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
    });
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
}
