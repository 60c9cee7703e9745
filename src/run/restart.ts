import type { RestartPolicy } from '../container/run-spec.js';
import { ImgError } from '../store/errors.js';

/** `--restart no|always|unless-stopped|on-failure[:MAX]`. */
export function parseRestart(s: string): RestartPolicy {
  const [name, max, ...rest] = s.split(':');
  const bad = (why: string) => new ImgError('INVALID_ARGUMENT', `invalid restart policy "${s}": ${why}`);
  if (rest.length) throw bad('too many colons');
  if (name !== 'no' && name !== 'always' && name !== 'unless-stopped' && name !== 'on-failure') {
    throw bad('want no, always, unless-stopped or on-failure[:max-retries]');
  }
  if (max !== undefined && name !== 'on-failure') throw bad('only on-failure takes a maximum retry count');
  if (max !== undefined && !/^\d+$/.test(max)) throw bad('maximum retry count must be a number');
  return { name, maxRetries: max === undefined ? 0 : Number(max) };
}

/** What the monitor knows when the process has exited. */
export interface ExitFacts {
  exitCode: number;
  /** Restarts already made. */
  restartCount: number;
  /** stop, kill, restart or rm -f asked for it. */
  stoppedByUser: boolean;
}

/** docker's restart manager: whether the exited process starts again. */
export function shouldRestart(p: RestartPolicy, f: ExitFacts): boolean {
  if (f.stoppedByUser) return false;
  switch (p.name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return f.exitCode !== 0 && (p.maxRetries === 0 || f.restartCount < p.maxRetries);
    default:
      return false;
  }
}

/** docker's back-off: 100 ms doubling per quick restart, up to a minute; a run of 10 s or more resets it. */
export function restartDelay(previousMs: number, ranMs: number): number {
  if (ranMs >= 10_000 || previousMs === 0) return 100;
  return Math.min(60_000, previousMs * 2);
}
