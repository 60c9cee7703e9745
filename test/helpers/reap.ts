// The process groups run() started and that are still open, killed when this test process
// ends: a command hung by a failed test (a `lamina exec` that never returns) must not outlive
// the run. Only these PIDs are signalled, never anything found by name.

const live = new Set<number>();
let installed = false;

/** SIGKILL to process group `pgid`; one that is gone already is not an error. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

function killAll(): void {
  for (const pgid of live) killGroup(pgid);
  live.clear();
}

/**
 * Vitest ends a fork worker with SIGTERM (then SIGKILL after 1 s), a terminal with SIGINT or
 * SIGHUP: each of these kills the groups, then ends the process as the signal would have,
 * unless someone else handles it.
 */
function install(): void {
  installed = true;
  process.on('exit', killAll);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAll();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

/** Tracks the group led by `pid` (a child spawned detached) until the returned function is called. */
export function trackGroup(pid: number): () => void {
  if (!installed) install();
  live.add(pid);
  return () => live.delete(pid);
}
