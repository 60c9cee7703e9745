import type http from 'node:http';
import net from 'node:net';
import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_RUN_DIR } from '../fuse/mount-state.js';
import { ImgError, messageOf } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { createApi } from './api.js';
import { restoreContainers } from '../run/restore.js';
import { logEvent } from './log.js';
import type { ServiceInfo } from './protocol.js';
import { Supervisor } from './supervisor.js';

export interface ServeOpts {
  socket: string;
  /** Mount records and worker logs (default $LAMINA_RUN_DIR or /run/lamina). */
  runDir?: string;
  /** How long SIGTERM waits for each mount to go before killing its worker (default 10 s). */
  stopTimeoutMs?: number;
  /** How often containers whose monitor died are checked against their restart policy (default 2 s). */
  containerCheckMs?: number;
}

/** Socket mode: owner and group (root) only. */
const SOCKET_MODE = 0o660;
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * lamina serve: restores the recorded mounts, answers the API on a Unix socket and supervises
 * the workers until SIGTERM/SIGINT/SIGHUP; then unmounts everything (keeping the intents) and
 * resolves with the exit status: 0 when every mount went cleanly.
 */
export async function serve(store: Store, opts: ServeOpts): Promise<number> {
  const runDir = opts.runDir ?? DEFAULT_RUN_DIR;
  const sup = new Supervisor(store, runDir);
  const startedAt = new Date().toISOString();
  const info = (): ServiceInfo => ({ pid: process.pid, socket: opts.socket, root: store.root, runDir, startedAt, mounts: sup.list() });
  process.stderr.on('error', () => undefined); // logs to a closed stderr are lost, and must not end the service
  logEvent('start', { pid: process.pid, root: store.root, socket: opts.socket, runDir });
  let stopping = false;
  const stopped = new Promise<string>((resolve) => {
    for (const sig of STOP_SIGNALS) {
      process.on(sig, () => {
        if (stopping) return logEvent('stop', { signal: sig, note: 'already stopping' });
        stopping = true;
        resolve(sig);
      });
    }
  });
  const server = createApi(sup, info);
  await listen(server, opts.socket);
  logEvent('listen', { socket: opts.socket, mode: SOCKET_MODE.toString(8) });
  await sup.restore().catch((err: unknown) => logEvent('error', { during: 'restore', error: messageOf(err) }, 'error'));
  const keeper = keepContainers(store, opts.containerCheckMs ?? 2000);
  const signal = await stopped;
  keeper.stop();
  logEvent('stop', { signal, mounts: sup.list().length });
  server.close();
  server.closeAllConnections();
  const clean = await sup.shutdown(opts.stopTimeoutMs ?? 10_000);
  await rm(opts.socket, { force: true });
  logEvent('stop', { clean });
  return clean ? 0 : 1;
}

/**
 * Restart policies: containers are started as their policy says when the service starts, and
 * again whenever their monitor dies under them. Monitors outlive the service; it only watches.
 */
function keepContainers(store: Store, everyMs: number): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const pass = async (serviceStart: boolean) => {
    try {
      for (const e of await restoreContainers(store, serviceStart)) logEvent('container', { ...e }, e.outcome === 'failed' ? 'error' : 'info');
    } catch (err) {
      logEvent('error', { during: 'restart policies', error: messageOf(err) }, 'error');
    }
    if (!stopped) timer = setTimeout(() => void pass(false), everyMs);
  };
  void pass(true);
  return { stop: () => { stopped = true; clearTimeout(timer); } };
}

/** Listens on `socket` with mode 0660; a stale socket file is replaced, a live one refused. */
async function listen(server: http.Server, socket: string): Promise<void> {
  await mkdir(path.dirname(socket), { recursive: true, mode: 0o755 });
  if (await answers(socket)) throw new ImgError('ALREADY_EXISTS', `a lamina service already listens on ${socket}`);
  await rm(socket, { force: true });
  const umask = process.umask(0o777 & ~SOCKET_MODE); // the socket is never reachable with a wider mode
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  await chmod(socket, SOCKET_MODE);
  server.on('error', (err) => logEvent('error', { error: messageOf(err) }, 'error'));
}

function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
