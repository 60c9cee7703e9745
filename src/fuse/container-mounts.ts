import { canonicalDir } from './mountinfo.js';
import { mountRecord, startMountServer, unmount } from './mount-process.js';
import { imageView } from './union/image-view.js';
import { ImgError } from '../layers/errors.js';
import { containers, type ContainerRecord } from '../layers/ops/containers.js';
import type { Store } from '../layers/store.js';

/** The mount point of a container whose server is alive, else undefined (a stale record is cleared). */
export async function liveMount(store: Store, c: ContainerRecord): Promise<string | undefined> {
  if (!c.mountedAt) return undefined;
  if (await mountRecord(c.mountedAt)) return c.mountedAt;
  containers(store).setMount(c.id, undefined);
  return undefined;
}

/** Mounts container `c` read-write on `dir` in a background server. */
export async function mountContainer(store: Store, c: ContainerRecord, dir: string): Promise<void> {
  const at = await liveMount(store, c);
  if (at) throw new ImgError('ALREADY_EXISTS', `container ${c.id.slice(0, 12)} is already mounted at ${at}`, { hint: `run \`lamina umount ${at}\` first` });
  imageView(store, c.imageId); // computes and stores the merged lower view now, so the server starts fast
  const rec = await startMountServer(dir, { kind: 'container', root: store.root, image: c.imageId, upper: c.upperDir, work: c.workDir },
    { readOnly: false, fsname: `lamina:${c.id.slice(0, 12)}` });
  containers(store).setMount(c.id, rec.dir);
}

/** Unmounts `dir` and clears the mount of the container that was there, if any. */
export async function unmountDir(store: Store | undefined, dir: string): Promise<void> {
  const target = await canonicalDir(dir);
  await unmount(target);
  const c = store && containers(store).byMount(target);
  if (c) containers(store!).setMount(c.id, undefined);
}
