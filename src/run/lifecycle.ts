// Starting, stopping, signalling and waiting for containers: the client side of their monitors.
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { containers, findContainer, type ContainerRecord } from '../container/containers.js';
import { isRunning, monitorAlive, refreshState } from '../container/container-state.js';
import { ImgError, messageOf, type ErrorCode } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { spawnChild } from './child.js';
import type { MonitorAnswer, MonitorRequest } from './monitor-protocol.js';
import { specOf } from './spec-of.js';

const short = (c: ContainerRecord) => c.id.slice(0, 12);

/** Where monitors put their sockets: the run directory (env LAMINA_RUN_DIR, as for mounts). */
export function monitorSocket(id: string): string {
  return path.join(process.env.LAMINA_RUN_DIR ?? '/run/lamina', 'ctr', `${id.slice(0, 24)}.sock`);
}

/** Sends one request to the container's monitor and reads its answer. */
export function callMonitor(c: ContainerRecord, req: MonitorRequest, timeoutMs = 30_000): Promise<MonitorAnswer> {
  const socket = c.run.monitorSocket;
  if (!socket) return Promise.reject(new ImgError('FAILED_PRECONDITION', `container ${short(c)} is not running`));
  return new Promise((resolve, reject) => {
    const sock = net.connect(socket);
    let text = '';
    const timer = setTimeout(() => sock.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (b: Buffer) => (text += b.toString()));
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(new ImgError('UNAVAILABLE', `container ${short(c)}: its monitor did not answer: ${messageOf(err)}`));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(text.split('\n')[0]!) as MonitorAnswer);
      } catch {
        reject(new ImgError('UNAVAILABLE', `container ${short(c)}: its monitor closed the connection`));
      }
    });
  });
}

/** Waits until container `id` has no monitor any more; its record then, undefined once removed (--rm). */
export async function waitForMonitor(store: Store, id: string, timeoutMs = Infinity): Promise<ContainerRecord | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = containers(store).get(id);
    if (!c) return undefined;
    const now = await refreshState(store, c);
    if (!now.run.monitorPid) return now;
    if (Date.now() > deadline) throw new ImgError('UNAVAILABLE', `container ${short(c)}: its monitor did not finish within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** What a monitor says on its fd 3 before it spawns anything: its socket answers, or why it cannot run. */
interface StartReport { listening?: boolean; error?: string; code?: ErrorCode }

/**
 * Starts container `c` under a new, detached monitor. With `waitForAttach` the monitor waits for
 * its first client before it starts the process (docker run in the foreground); otherwise this
 * resolves once the process runs.
 */
export async function spawnMonitor(store: Store, c: ContainerRecord, waitForAttach: boolean): Promise<ContainerRecord> {
  await specOf(store, c); // a container whose image config is unreadable fails here, not in the monitor
  const entry = fileURLToPath(new URL('./monitor-main.js', import.meta.url));
  const log = path.join(path.dirname(c.upperDir), 'monitor.log');
  const socket = monitorSocket(c.id);
  // The shell points stdout and stderr at the log itself, so they never pass through this process.
  const { proc: child } = spawnChild('/bin/sh', ['-c', 'log=$1; shift; exec "$@" >>"$log" 2>&1', 'lamina-monitor', log,
    process.execPath, entry, store.root, c.id, socket, ...(waitForAttach ? ['--attach'] : [])], {
    detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  const line = await new Promise<string>((resolve) => {
    let text = '';
    const pipe = child.stdio[3] as net.Socket;
    pipe.on('data', (b: Buffer) => (text += b.toString()));
    pipe.on('error', () => undefined);
    pipe.on('close', () => resolve(text.split('\n')[0] ?? ''));
  });
  child.unref();
  let report: StartReport;
  try {
    report = JSON.parse(line) as StartReport;
  } catch {
    throw new ImgError('INTERNAL', `container ${short(c)}: its monitor failed to start`, { hint: `see ${log}` });
  }
  if (report.error) throw new ImgError(report.code ?? 'INTERNAL', report.error);
  const running = { ...c, run: { ...c.run, monitorPid: child.pid, monitorSocket: socket } };
  if (waitForAttach) return running;
  const answer = await callMonitor(running, { op: 'started' }, 120_000);
  if (!answer.ok) throw new ImgError((answer.code as ErrorCode | undefined) ?? 'INTERNAL', answer.error ?? 'the container did not start');
  return containers(store).get(c.id) ?? running;
}

/**
 * docker start: a no-op for a running container. With `waitForAttach` (start -a) a running one is
 * refused, and the monitor waits for its first client before it starts the process.
 */
export async function startContainer(store: Store, name: string, waitForAttach = false): Promise<ContainerRecord> {
  const c = await refreshState(store, findContainer(store, name));
  if (isRunning(c)) {
    if (!waitForAttach) return c;
    throw new ImgError('FAILED_PRECONDITION', `container ${short(c)} is already running`, { hint: 'attach to a running container is not supported' });
  }
  if (c.run.monitorPid) await waitForMonitor(store, c.id, 30_000); // one still cleaning up after a stop
  return spawnMonitor(store, c, waitForAttach);
}

/** docker stop: the stop signal, then SIGKILL after `timeoutSec`; resolves once the container is down. */
export async function stopContainer(store: Store, name: string, timeoutSec = 10): Promise<ContainerRecord> {
  const c = await refreshState(store, findContainer(store, name));
  if (!c.run.monitorPid) return c;
  const spec = await specOf(store, c);
  const answer = await callMonitor(c, { op: 'stop', signal: spec.stopSignal ?? 'SIGTERM', timeoutSec }, (timeoutSec + 60) * 1000)
    .catch((err: unknown) => ({ ok: false, error: messageOf(err) }) as MonitorAnswer);
  if (!answer.ok && monitorAlive(c)) throw new ImgError('UNAVAILABLE', `stopping ${name}: ${answer.error}`);
  return (await waitForMonitor(store, c.id, 30_000)) ?? c;
}

/** docker kill: a signal (default SIGKILL) to the container's first process. */
export async function killContainer(store: Store, name: string, signal = 'SIGKILL'): Promise<void> {
  const sig = /^\d+$/.test(signal) ? signalName(Number(signal)) : `SIG${signal.toUpperCase().replace(/^SIG/, '')}`;
  const c = await refreshState(store, findContainer(store, name));
  if (!isRunning(c)) throw new ImgError('FAILED_PRECONDITION', `cannot kill container: ${name}: container ${c.id} is not running`);
  const answer = await callMonitor(c, { op: 'kill', signal: sig });
  if (!answer.ok) throw new ImgError('INVALID_ARGUMENT', `cannot kill container: ${name}: ${answer.error}`);
}

function signalName(n: number): string {
  const hit = Object.entries(os.constants.signals).find(([, v]) => v === n);
  if (!hit) throw new ImgError('INVALID_ARGUMENT', `invalid signal: ${n}`);
  return hit[0];
}

/** docker wait: blocks until the container is not running; its exit code. */
export async function waitContainer(store: Store, name: string): Promise<number> {
  const c = findContainer(store, name);
  const done = await waitForMonitor(store, c.id);
  return done?.run.exitCode ?? c.run.exitCode ?? 0;
}

/** docker restart: stop (if running), then start. */
export async function restartContainer(store: Store, name: string, timeoutSec = 10): Promise<ContainerRecord> {
  await stopContainer(store, name, timeoutSec);
  return startContainer(store, name);
}

/**
 * The first half of docker rm [-f]: a running container is refused, or with `force` killed and
 * waited for. The caller then unmounts and removes what is left (a --rm container removes itself).
 */
export async function stopForRemoval(store: Store, name: string, force: boolean): Promise<void> {
  const c = await refreshState(store, findContainer(store, name));
  if (!c.run.monitorPid) return;
  if (!force) {
    throw new ImgError('FAILED_PRECONDITION', `cannot remove container "/${c.name}": container is running: stop the container before removing or force remove`);
  }
  await callMonitor(c, { op: 'kill', signal: 'SIGKILL' }).catch(() => undefined);
  await waitForMonitor(store, c.id, 30_000);
}
