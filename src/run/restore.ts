// Restart policies across service restarts (and host reboots): containers whose monitor is gone
// are brought up to date, and started again where their policy says so, as dockerd does when it starts.
import { containers, type ContainerRecord } from '../container/containers.js';
import { messageOf } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { MONITOR_DIED, refreshState } from '../container/container-state.js';
import { spawnMonitor } from './lifecycle.js';
import { shouldRestart } from './restart.js';
import { specOf } from './spec-of.js';

export interface RestoreEvent {
  id: string;
  name: string;
  /** started: a monitor was started; failed: starting it failed. */
  outcome: 'started' | 'failed';
  error?: string;
}

/**
 * Whether a container without a monitor starts again. When the service starts, `always` does even
 * after a stop (docker restarts it with the daemon); otherwise a container comes back only if its
 * monitor died under it (recorded by whoever noticed first: this pass, ps, inspect...; the exit
 * code is 255) and the policy says so.
 */
async function wanted(store: Store, c: ContainerRecord, serviceStart: boolean): Promise<boolean> {
  const died = c.run.error === MONITOR_DIED;
  if (!serviceStart && !died) return false; // before reading the spec: this runs every 2 s for every container
  const { restart } = await specOf(store, c);
  if (restart.name === 'no') return false;
  if (serviceStart && restart.name === 'always') return true;
  if (!died) return false;
  return shouldRestart(restart, { exitCode: c.run.exitCode ?? 255, restartCount: c.run.restartCount, stoppedByUser: c.run.stoppedByUser });
}

/** One pass over every container: restarts those whose policy asks for it; what it did. */
export async function restoreContainers(store: Store, serviceStart: boolean): Promise<RestoreEvent[]> {
  const events: RestoreEvent[] = [];
  for (const listed of containers(store).list()) {
    const c = await refreshState(store, listed);
    if (c.run.monitorPid || !(await wanted(store, c, serviceStart).catch(() => false))) continue;
    try {
      await spawnMonitor(store, c, false);
      events.push({ id: c.id, name: c.name, outcome: 'started' });
    } catch (err) {
      events.push({ id: c.id, name: c.name, outcome: 'failed', error: messageOf(err) });
    }
  }
  return events;
}
