import { canonicalDir } from '../fuse/mountinfo.js';
import { startMountServer, unmount } from '../fuse/mount-process.js';
import type { FuseMountOpts } from '../fuse/mount-options.js';
import { ensureViewFile } from '../image/image-view.js';
import type { MountSpec } from '../fuse/mount-state.js';
import { ImgError } from '../store/errors.js';
import { containers, type ContainerRecord } from './containers.js';
import { liveMountOf, markMounted } from './container-state.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';

/** The path a mount on `dir` is recorded under; a symlink is refused (see fuse/mountinfo.ts). */
export { canonicalDir };

/** The mount point of a container whose server is alive, else undefined (a stale record is cleared). */
export async function liveMount(store: Store, c: ContainerRecord): Promise<string | undefined> {
  return liveMountOf(store, c);
}

/** How a container mount is presented: read-write unless `readOnly`; `suid`/`dev` only where no host user can reach it. */
export interface ContainerMountOpts {
  readOnly?: boolean;
  suid?: boolean;
}

/** What serves container `c`, and how it is presented. */
export function containerMount(store: Store, c: ContainerRecord, o: ContainerMountOpts = {}): { spec: MountSpec; fuse: FuseMountOpts } {
  const view = ensureViewFile(store, c.imageId);
  return { spec: { kind: 'container', root: store.root, image: c.imageId, upper: c.upperDir, work: c.workDir, view },
    fuse: { readOnly: !!o.readOnly, fsname: `lamina:${c.id.slice(0, 12)}`, suid: !!o.suid, dev: !!o.suid } };
}

/** What serves image `id` itself, read-only. */
export function imageMount(store: Store, id: string): { spec: MountSpec; fuse: FuseMountOpts } {
  const view = ensureViewFile(store, id as Digest);
  return { spec: { kind: 'image', root: store.root, image: id, view }, fuse: { readOnly: true, fsname: `lamina:${id.slice(7, 19)}` } };
}

/** Mounts container `c` read-write on `dir` in a background server. */
export async function mountContainer(store: Store, c: ContainerRecord, dir: string, o: ContainerMountOpts = {}): Promise<void> {
  const at = await liveMount(store, c);
  if (at) throw new ImgError('ALREADY_EXISTS', `container ${c.id.slice(0, 12)} is already mounted at ${at}`, { hint: `run \`lamina umount ${at}\` first` });
  const m = containerMount(store, c, o);
  const rec = await startMountServer(dir, m.spec, m.fuse);
  markMounted(store, c.id, rec.dir);
}

/** Mounts image `id` itself, read-only, on `dir` in a background server. */
export async function mountImage(store: Store, id: Digest, dir: string): Promise<void> {
  const m = imageMount(store, id);
  await startMountServer(dir, m.spec, m.fuse);
}

/** Unmounts `dir` and clears the mount of the container that was there, if any. */
export async function unmountDir(store: Store | undefined, dir: string): Promise<void> {
  const target = await canonicalDir(dir);
  await unmount(target);
  const c = store && containers(store).byMount(target);
  if (c) markMounted(store!, c.id, undefined);
}
