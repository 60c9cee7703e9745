// docker logs: what a container printed, from its log in the store.
import { setTimeout as sleep } from 'node:timers/promises';
import { containers, findContainer } from '../container/containers.js';
import { ImgError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { refreshState } from '../container/container-state.js';
import { logPath, readLog, readLogFrom, type LogEntry } from './logs.js';

export interface LogsOpts {
  /** Only the last N lines. */
  tail?: number;
  /** Prefix each line with its RFC 3339 time. */
  timestamps: boolean;
  /** Keep printing new output until the container stops. */
  follow: boolean;
  write(stream: 'stdout' | 'stderr', text: string): void;
}

const POLL_MS = 100;

/** docker's --tail: "all" or a number of lines. */
export function parseTail(s: string | undefined): number | undefined {
  if (s === undefined || s === 'all') return undefined;
  if (!/^\d+$/.test(s)) throw new ImgError('INVALID_ARGUMENT', `invalid --tail "${s}": want a number of lines or "all"`);
  return Number(s);
}

/** Prints container `name`'s log; with `follow`, until the container is not running any more. */
export async function containerLogs(store: Store, name: string, o: LogsOpts): Promise<void> {
  const c = findContainer(store, name);
  const file = logPath(c.upperDir);
  const print = (entries: LogEntry[]) => {
    for (const e of entries) o.write(e.stream, o.timestamps ? `${e.time} ${e.log}` : e.log);
  };
  let { entries, size } = await readLog(file);
  print(o.tail === undefined ? entries : o.tail === 0 ? [] : entries.slice(-o.tail));
  if (!o.follow) return;
  for (;;) {
    const now = containers(store).get(c.id);
    const running = !!now && !!(await refreshState(store, now)).run.monitorPid;
    ({ entries, size } = await readLogFrom(file, size));
    print(entries);
    if (!running) return;
    await sleep(POLL_MS);
  }
}
