// docker exec: another process in a running container's namespaces and root, with its
// privileges, through lamina-exec join.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { findContainer } from '../container/containers.js';
import { ImgError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { hostnameOf } from '../container/run-spec.js';
import { spawnChild } from './child.js';
import { processEnv } from './config.js';
import { credentialsIn } from './rootfs.js';
import { execHelper, HOST_ENV, processArgs, writeEnvFile } from './sandbox.js';
import { privilegeArgs } from './security.js';
import { isRunning, refreshState } from '../container/container-state.js';
import { procInfo } from '../container/proc-stat.js';
import { specOf } from './spec-of.js';

export interface ExecOpts {
  cmd: string[];
  env: string[];
  workdir?: string;
  user?: string;
  interactive: boolean;
  tty: boolean;
  privileged?: boolean;
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/** The container's first process, checked to still be its monitor's grandchild (a PID can be reused). */
function firstProcess(pid: number | undefined, monitorPid: number | undefined): number | undefined {
  if (!pid || !monitorPid) return undefined;
  const sandbox = procInfo(pid)?.ppid;
  return sandbox && procInfo(sandbox)?.ppid === monitorPid ? pid : undefined;
}

/** Runs `o.cmd` in container `name` with this process's stdio; resolves with its exit status. */
export async function execInContainer(store: Store, name: string, o: ExecOpts): Promise<number> {
  if (!o.cmd.length) throw new ImgError('INVALID_ARGUMENT', 'exec needs a command');
  if (o.tty && o.interactive && !process.stdin.isTTY) throw new ImgError('INVALID_ARGUMENT', 'the input device is not a TTY');
  const c = await refreshState(store, findContainer(store, name));
  const pid = isRunning(c) ? firstProcess(c.run.pid, c.run.monitorPid) : undefined;
  if (!pid) throw new ImgError('FAILED_PRECONDITION', `container ${c.id} is not running`);
  const spec = await specOf(store, c);
  const cred = credentialsIn(`/proc/${pid}/root`, o.user ?? spec.process.user);
  let env = processEnv(spec.process.env, { hostname: hostnameOf(c.id, spec), home: cred.home, overrides: o.env });
  if (o.tty && !env.some((e) => e.startsWith('TERM='))) env = [...env, 'TERM=xterm'];
  const envFile = path.join(path.dirname(c.upperDir), `exec-${randomBytes(8).toString('hex')}.env`);
  await writeEnvFile(envFile, env);
  try {
    const privileges = privilegeArgs(o.privileged ? { ...spec, privileged: true } : spec);
    const args = ['join', '--target', String(pid), '--ppid', String(process.pid), ...processArgs({ argv: o.cmd, env, cwd: o.workdir ?? spec.process.cwd, cred, privileges, tty: o.tty },
      envFile), '--', ...o.cmd];
    const child = spawnChild(execHelper(), args, { env: HOST_ENV, stdio: [o.interactive ? 'inherit' : 'ignore', 'inherit', 'inherit'] });
    // lamina-exec passes these on to the command; a terminal's Ctrl-C reaches it through the pty instead.
    const forward = (sig: NodeJS.Signals) => child.proc.kill(sig);
    for (const s of FORWARDED) process.on(s, forward);
    try {
      const r = await child.exited;
      return r.exitCode ?? 128;
    } finally {
      for (const s of FORWARDED) process.off(s, forward);
    }
  } finally {
    await rm(envFile, { force: true });
  }
}
