// What a container is doing now, in one place: its record, whether its monitor still runs (a record
// whose monitor died is brought up to date here), where it is mounted (by the service, by a direct
// `lamina mount`, or by its monitor), and the writes that keep those facts: mounted_at, and the
// mounts the service keeps (the mounts table). The CLI asks here and prints.
import path from 'node:path';
import { isUpState } from './container-index.js';
import { containers, type ContainerRecord } from './containers.js';
import { MountIntents } from './mount-intents.js';
import { procInfo } from './proc-stat.js';
import { mountRecord, unmount } from '../fuse/mount-process.js';
import type { Store } from '../store/store.js';

/** A mount the service keeps for a container, as it reports it. */
export interface KeptMount {
  dir: string;
  state: 'starting' | 'mounted' | 'restarting' | 'failed';
  restarts: number;
  error?: string;
}

/** Where a container is mounted, and how ps words it. */
export interface MountInfo {
  dir: string;
  status: string;
}

export interface ContainerNow {
  record: ContainerRecord;
  mount?: MountInfo;
}

/** The mounts the service keeps (restored when it starts). */
export const mountIntents = (store: Store): MountIntents => new MountIntents(store.index.db);

/** Records where container `id` is mounted (undefined: nowhere). */
export function markMounted(store: Store, id: string, dir: string | undefined): void {
  containers(store).setMount(id, dir);
}

/** The mount point of a container whose server is alive, else undefined (a stale record is cleared). */
export async function liveMountOf(store: Store, c: ContainerRecord): Promise<string | undefined> {
  if (!c.mountedAt) return undefined;
  if (await mountRecord(c.mountedAt)) return c.mountedAt;
  markMounted(store, c.id, undefined);
  return undefined;
}

/** Whether the monitor the record names still runs: same PID, same start time. */
export function monitorAlive(c: ContainerRecord): boolean {
  const info = c.run.monitorPid ? procInfo(c.run.monitorPid) : undefined;
  return !!info && info.start === c.run.monitorStart;
}

/** Whether the container's process runs (or waits to run again) under a live monitor. */
export const isRunning = (c: ContainerRecord): boolean => !!c.run.monitorPid && isUpState(c.run.state);

/**
 * The container as it is now. A record that says a monitor runs it while none does (killed, or
 * the host went down) is brought up to date: the process is gone, so it exited (255, as docker
 * reports after a crash), and the mount its monitor made is released.
 */
/** The error a container records when its monitor died under it; restart policies look for it. */
export const MONITOR_DIED = 'its monitor died';

export async function refreshState(store: Store, c: ContainerRecord): Promise<ContainerRecord> {
  if (!c.run.monitorPid || monitorAlive(c)) return c;
  const index = containers(store);
  const wasUp = isUpState(c.run.state);
  index.setRun(c.id, { monitorPid: undefined, monitorStart: undefined, monitorSocket: undefined, pid: undefined,
    ...(wasUp ? { state: 'exited', exitCode: 255, finishedAt: new Date().toISOString(), error: MONITOR_DIED } : {}) });
  const merged = path.join(path.dirname(c.upperDir), 'merged');
  if (c.mountedAt === merged) {
    await unmount(merged).catch(() => undefined);
    markMounted(store, c.id, undefined);
  }
  return index.get(c.id) ?? c;
}

function keptStatus(m: KeptMount): string {
  switch (m.state) {
    case 'mounted': return `Mounted at ${m.dir}`;
    case 'starting': return `Mounting at ${m.dir}`;
    case 'restarting': return `Restarting (${m.restarts}) at ${m.dir}`;
    case 'failed': return `Failed at ${m.dir}: ${m.error ?? 'unknown error'}`;
  }
}

/** The mount of `c`: the service's if it keeps one (`kept`, by container ID), else a live direct mount. */
export async function mountOf(store: Store, c: ContainerRecord, kept: Map<string, KeptMount>): Promise<MountInfo | undefined> {
  const m = kept.get(c.id);
  if (m) return { dir: m.dir, status: keptStatus(m) };
  const at = await liveMountOf(store, c);
  return at ? { dir: at, status: `Mounted at ${at}` } : undefined;
}

/** Container `c` now: its record brought up to date, and its mount. */
export async function containerNow(store: Store, c: ContainerRecord, kept: Map<string, KeptMount>): Promise<ContainerNow> {
  const record = await refreshState(store, c);
  return { record, mount: await mountOf(store, record, kept) };
}

/** Every container now, newest first. */
export async function everyContainerNow(store: Store, kept: Map<string, KeptMount>): Promise<ContainerNow[]> {
  const out: ContainerNow[] = [];
  for (const c of containers(store).list()) out.push(await containerNow(store, c, kept));
  return out;
}
