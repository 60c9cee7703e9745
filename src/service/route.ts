// What the CLI's mount commands share: talk to the service when one keeps this store's
// mounts, else act here (direct mode: each mount its own detached server, as before).
import path from 'node:path';
import { unmountDir } from '../container/container-mounts.js';
import { mountIntents } from '../container/container-state.js';
import { canonicalDir } from '../fuse/mountinfo.js';
import { isNotFound } from '../store/errors.js';
import { findContainer } from '../container/containers.js';
import type { Store } from '../store/store.js';
import type { ServiceClient } from './client.js';
import type { MountRequest } from './protocol.js';

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
