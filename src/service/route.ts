// What the CLI's mount commands share: talk to the service when one keeps this store's
// mounts, else act here (direct mode: each mount its own detached server, as before).
import path from 'node:path';
import { unmountDir } from '../container/container-mounts.js';
import { mountIntents } from '../container/container-state.js';
import { canonicalDir } from '../fuse/mountinfo.js';
import { hasCode, isNotFound, messageOf } from '../store/errors.js';
import { findContainer } from '../container/containers.js';
import type { Store } from '../store/store.js';
import { probeService, type ServiceClient } from './client.js';
import type { MountRequest, MountStatus } from './protocol.js';

/** The request that mounts `name` on `dir`: the container of that name, else the image. */
export function mountRequest(store: Store, name: string, dir: string, readOnly: boolean): MountRequest {
  const base = { dir: path.resolve(dir), readOnly };
  if (readOnly) return { ...base, image: name };
  try {
    return { ...base, container: findContainer(store, name).id };
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return { ...base, image: name };
  }
}

/** Unmounts `dir` through the service, or directly; a direct unmount also drops the service's intent for it. */
export async function unmountVia(svc: ServiceClient | undefined, store: Store, dir: string): Promise<void> {
  if (svc) return svc.unmount(path.resolve(dir));
  const target = await canonicalDir(dir);
  const kept = mountIntents(store).remove(target);
  try {
    await unmountDir(store, target);
  } catch (err) {
    if (!(kept && isNotFound(err))) throw err; // a kept mount while the service is down is not mounted: forgetting it is enough
  }
}

/** The service's mounts by container ID (empty in direct mode). */
export async function serviceMounts(svc: ServiceClient | undefined): Promise<Map<string, MountStatus>> {
  const list = svc ? await svc.mounts() : [];
  return new Map(list.filter((m) => m.containerId).map((m) => [m.containerId!, m]));
}

/** `lamina info`'s service section, as lines and as JSON. */
export async function serviceReport(socketFlag: string | undefined, root: string): Promise<{ lines: string[]; json: Record<string, unknown> }> {
  let p;
  try {
    p = await probeService(socketFlag);
  } catch (err) {
    const why = hasCode(err, 'UNAUTHORIZED') ? 'permission denied' : messageOf(err);
    return { lines: [`Service: not reachable (${why}); direct mode`], json: { state: 'unreachable', error: messageOf(err) } };
  }
  if (p.state === 'absent') return { lines: ['Service: not running (direct mode)'], json: { state: 'not running', socket: p.socket } };
  const { info } = p;
  const head = `Service: running (pid ${info.pid}, socket ${info.socket})`;
  if (info.root !== root) {
    return { lines: [`${head} for store ${info.root}; this store uses direct mode`], json: { state: 'other store', ...info } };
  }
  const rows = info.mounts.map((m) => `  ${m.dir}  ${m.state}  ${m.containerId ? `container ${m.containerId.slice(0, 12)}` : `image ${m.imageId.slice(7, 19)}`}`
    + `  worker ${m.pid ?? '-'}  restarts ${m.restarts}${m.error ? `  error: ${m.error}` : ''}`);
  return { lines: [head, `Service mounts: ${info.mounts.length}`, ...rows], json: { state: 'running', ...info } };
}
