// One run of a container's process: prepare the root, start the sandbox, connect its network,
// and report its exit. The monitor (monitor.ts) decides when to do this again.
import { mkdir } from 'node:fs/promises';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ContainerRecord } from '../container/container-index.js';
import { hostnameOf, type RunSpec } from '../container/run-spec.js';
import { ImgError } from '../store/errors.js';
import { processEnv } from './config.js';
import { havePasta, privateResolvConf, startPasta, type Pasta } from './network.js';
import { credentialsIn, writeEtc } from './rootfs.js';
import { running, type Child } from './child.js';
import { spawnSandbox, type Volume } from './sandbox.js';
import { MASKED_PATHS, READONLY_PATHS, privilegeArgs } from './security.js';

/** tini, bound into the container for --init (Debian's tini package). */
export const INIT_BINARY = '/usr/bin/tini-static';

export interface Started {
  /** Host PID of the container's first process. */
  pid: number;
  sandbox: Child;
  pasta?: Pasta;
  /** Window sizes for the terminal ("ROWS COLS\n"). */
  control: Socket;
}

/** Lines from the sandbox's sync channel, one at a time. */
function lineReader(sock: Socket): () => Promise<string | undefined> {
  let buf = '';
  let ended = false;
  let wake: (() => void) | undefined;
  sock.on('data', (b: Buffer) => {
    buf += b.toString();
    wake?.();
  });
  sock.on('close', () => {
    ended = true;
    wake?.();
  });
  sock.on('error', () => undefined);
  return async () => {
    for (;;) {
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        return line;
      }
      if (ended) return undefined;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  };
}

/** What the sandbox said on stderr before it failed, as the error. */
async function sandboxFailure(sandbox: Child, stderr: () => string): Promise<ImgError> {
  const r = await sandbox.exited;
  const why = stderr().trim().split('\n').filter(Boolean).slice(-3).join('; ');
  return new ImgError('FAILED_PRECONDITION', why || `the sandbox exited ${r.exitCode ?? r.signal}`);
}

export interface StartOpts {
  rootfs: string;
  /** The spec's -v mounts, parsed. */
  volumes: Volume[];
  /** The container's own directory on the host (etc files, env file, pasta's PID file). */
  stateDir: string;
  /** Called with each chunk of output before anything else reads it. */
  onOutput(stream: 'stdout' | 'stderr', chunk: Buffer): void;
}

/** Starts the container's process; resolves once it runs (its PID known), or rejects with why it could not. */
export async function startProcess(c: ContainerRecord, spec: RunSpec, o: StartOpts): Promise<Started> {
  if (!spec.process.argv.length) throw new ImgError('INVALID_ARGUMENT', 'no command specified');
  const cred = credentialsIn(o.rootfs, spec.process.user);
  const hostname = hostnameOf(c.id, spec);
  const etcDir = path.join(o.stateDir, 'etc');
  const privateNet = spec.network === 'private';
  if (privateNet && !(await havePasta())) {
    throw new ImgError('FAILED_PRECONDITION', 'the private network needs pasta, which is not installed', { hint: 'install passt, or run with --network host' });
  }
  await mkdir(etcDir, { recursive: true });
  await writeEtc(etcDir, hostname, spec.addHosts, privateNet ? await privateResolvConf() : undefined);
  const sandbox = await spawnSandbox({
    rootfs: o.rootfs, hostname, etcDir, volumes: o.volumes, privateNetwork: spec.network !== 'host', loopback: spec.network === 'none',
    init: spec.init ? INIT_BINARY : undefined, privileged: spec.privileged,
    masked: spec.privileged ? [] : MASKED_PATHS, readonly: spec.privileged ? [] : READONLY_PATHS, stdin: spec.interactive,
    process: { argv: spec.process.argv, env: processEnv(spec.process.env, { hostname, home: cred.home }), cwd: spec.process.cwd, cred, privileges: privilegeArgs(spec), tty: spec.tty },
  });
  let stderr = '';
  sandbox.proc.stdout!.on('data', (b: Buffer) => o.onOutput('stdout', b));
  sandbox.proc.stderr!.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000);
    o.onOutput('stderr', b);
  });
  const control = sandbox.proc.stdio[3] as Socket;
  const next = lineReader(control);
  let pasta: Pasta | undefined;
  try {
    if ((await next()) !== 'ready') throw await sandboxFailure(sandbox, () => stderr);
    if (privateNet) pasta = await startPasta(sandbox.proc.pid!, spec.ports, o.stateDir);
    control.write('go\n');
    const m = /^pid (\d+)$/.exec((await next()) ?? '');
    if (!m) throw await sandboxFailure(sandbox, () => stderr);
    return { pid: Number(m[1]), sandbox, pasta, control };
  } catch (err) {
    if (running(sandbox)) sandbox.proc.kill('SIGKILL');
    await sandbox.exited;
    await pasta?.stop();
    throw err;
  }
}

/** The exit status docker reports: the code, or 128+N after signal N. */
export async function exitStatus(s: Started): Promise<number> {
  const r = await s.sandbox.exited;
  await s.pasta?.stop();
  if (typeof r.exitCode === 'number') return r.exitCode;
  return 128 + (r.signal ? os.constants.signals[r.signal as NodeJS.Signals] : 0);
}
