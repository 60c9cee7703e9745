import { containerExportTar, containerLayerTar, flushMount } from '../../container/container-tar.js';
import { liveMount } from '../../container/container-mounts.js';
import { imageView } from '../../image/image-view.js';
import { ImgError } from '../../store/errors.js';
import { commitImage } from '../../image/commit.js';
import { findContainer, type ContainerRecord } from '../../container/containers.js';
import { writeTar } from '../../image/export.js';
import type { Store } from '../../store/store.js';
import type { Context, Output } from '../context.js';

/** A mounted container's kernel-held writes reach its upper dir first (see flushMount). */
async function settle(store: Store, c: ContainerRecord): Promise<void> {
  const at = await liveMount(store, c);
  if (at) await flushMount(at);
}

export async function runCommit(ctx: Context, name: string, ref: string | undefined,
  o: { message?: string; author?: string; change: string[] }): Promise<Output> {
  const store = await ctx.store();
  const c = findContainer(store, name);
  await settle(store, c);
  const layer = containerLayerTar(imageView(store, c.imageId), c.upperDir, c.workDir);
  const r = await commitImage(store, { parent: c.imageId, layer, message: o.message, author: o.author, changes: o.change, ref,
    what: `commit of container ${c.id.slice(0, 12)}` });
  return r.id;
}

export async function runExport(ctx: Context, name: string, o: { output?: string }): Promise<Output> {
  const out = o.output === '-' ? undefined : o.output;
  if (out === undefined && process.stdout.isTTY) {
    throw new ImgError('INVALID_ARGUMENT', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
  }
  const store = await ctx.store();
  const c = findContainer(store, name);
  await settle(store, c);
  await writeTar(containerExportTar(imageView(store, c.imageId), c.upperDir, c.workDir), out);
  return undefined;
}
