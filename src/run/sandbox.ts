// The namespaces a container's process runs in, and the two ways into them through lamina-exec:
// `init` starts a container's first process, `join` starts another one in it (exec).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { nativeBinary } from '../native-binary.js';
import { spawnChild, type Child } from './child.js';
import { ETC_FILES } from './rootfs.js';
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

/** native/lamina-exec.c and its exec-*.c parts (see nativeBinary). */
export const execHelper = (): string => nativeBinary('lamina-exec');

/** lamina-exec runs with only this environment; the container's reaches the command through a file. */
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
 * Starts the sandbox: lamina-exec init builds the namespaces and the root, and runs the command as
 * PID 1 of its own PID namespace. Its fd 3 is the sync channel: "ready" once the namespaces exist,
 * then it waits for "go" (the network is connected by then), then reports "pid N" and takes window
 * sizes. It dies with this process (a parent-death signal), and the container with it.
 */
export async function spawnSandbox(o: SandboxOpts): Promise<Child> {
  const envFile = path.join(o.etcDir, 'environment');
  await writeEnvFile(envFile, o.process.env);
  const argv = o.init ? ['/dev/init', '--', ...o.process.argv] : o.process.argv;
  const binds = [
    ...ETC_FILES.flatMap((f) => ['--bind', path.join(o.etcDir, f), `/etc/${f}`]),
    ...o.volumes.flatMap((v) => [v.readOnly ? '--bind-ro' : '--bind', v.host, v.target]),
  ];
  const args = ['init', '--root', o.rootfs, '--ppid', String(process.pid), '--hostname', o.hostname,
    ...(o.privateNetwork ? ['--net'] : []), ...(o.loopback ? ['--lo'] : []), ...(o.privileged ? ['--sysfs-rw'] : []),
    ...(o.init ? ['--init-binary', o.init] : []), ...binds,
    ...o.masked.flatMap((p) => ['--mask', p]), ...o.readonly.flatMap((p) => ['--readonly', p]),
    ...processArgs(o.process, envFile), '--sync-fd', '3', '--', ...argv];
  // stdout, stderr and the sync channel (fd 3) are pipes; stdin too with -i
  return spawnChild(execHelper(), args, { env: HOST_ENV, stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'] });
}
