import { resolveImage } from '../../image/resolve.js';
import { createContainer, findContainer } from '../../container/containers.js';
import { canonicalDir, mountContainer, mountImage } from '../../container/container-mounts.js';
import { serviceFor } from '../../service/client.js';
import { mountRequest, unmountVia } from '../../service/route.js';
import { ImgError, isNotFound } from '../../store/errors.js';
import type { Context, Output } from '../context.js';

/** An empty DIR ('' from an unset shell variable) would resolve to the current directory: refuse it. */
function nonEmptyDir(dir: string, verb: string): void {
  if (dir.trim() === '') throw new ImgError('INVALID_ARGUMENT', `${verb}: the directory argument is empty`);
}

export async function runMount(ctx: Context, name: string, given: string, o: { readOnly?: boolean }): Promise<Output> {
  nonEmptyDir(given, 'mount');
  const dir = await canonicalDir(given); // a bad mount point fails before a container is created
  const store = await ctx.store();
  const svc = await serviceFor(ctx.socketFlag, ctx.root);
  if (svc) {
    const r = await svc.mount(mountRequest(store, name, dir, !!o.readOnly));
    return r.created ? r.mount.containerId : undefined;
  }
  if (o.readOnly) {
    const { id } = resolveImage(store, name);
    await mountImage(store, id, dir);
    return undefined;
  }
  let existing;
  try {
    existing = findContainer(store, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const c = existing ?? (await createContainer(store, name));
  await mountContainer(store, c, dir);
  return existing ? undefined : c.id; // like docker run -d: a new container's ID
}

export async function runUmount(ctx: Context, dir: string): Promise<Output> {
  nonEmptyDir(dir, 'umount');
  await unmountVia(await serviceFor(ctx.socketFlag, ctx.root), await ctx.store(), dir);
  return undefined;
}
