import { containerBytes, filterContainers, summarizeContainer, type ContainerSummary } from '../../container/container-list.js';
import { CONTAINER_FILTERS } from '../../container/container-filters.js';
import { parseFilters } from '../../image/filters.js';
import { resolveImage } from '../../image/resolve.js';
import type { Store } from '../../store/store.js';
import { removeContainer, type ContainerRecord } from '../../container/containers.js';
import { everyContainerNow } from '../../container/container-state.js';
import { isUpState } from '../../container/container-index.js';
import { serviceFor, serviceMounts } from '../../service/client.js';
import type { Context, Output } from '../context.js';
import { humanSize } from '../format.js';
import { CONTAINERS, containerFormat, containerRows } from '../format-containers.js';
import { parseFormat, renderRows } from '../format-write.js';
import { confirm } from '../prompt.js';

export interface Listed { record: ContainerRecord; summary: ContainerSummary }

/** Every container with its summary (state from the service's or a direct mount). */
export async function listContainers(ctx: Context): Promise<Listed[]> {
  const store = await ctx.store();
  const out: Listed[] = [];
  for (const { record, mount } of await everyContainerNow(store, await serviceMounts(await serviceFor(ctx.socketFlag, ctx.root)))) {
    out.push({ record, summary: await summarizeContainer(store, record, mount) });
  }
  return out;
}

/** ancestor=REF: the container's image is REF's image or built on top of it (its layers start with REF's). */
function isAncestor(store: Store) {
  return (ref: string, imageId: string): boolean => {
    const base = resolveImage(store, ref).id;
    if (base === imageId) return true;
    const want = store.index.imageLayers(base).map((l) => l.diffId);
    const have = store.index.imageLayers(imageId as `sha256:${string}`).map((l) => l.diffId);
    return want.length > 0 && want.length <= have.length && want.every((d, i) => have[i] === d);
  };
}

/** docker container prune: remove every container that is not running; returns removed IDs and bytes. */
export async function pruneContainers(ctx: Context): Promise<{ ids: string[]; bytes: number }> {
  const store = await ctx.store();
  const out = { ids: [] as string[], bytes: 0 };
  for (const { record, summary } of await listContainers(ctx)) {
    if (isUpState(summary.state)) continue;
    out.bytes += await containerBytes(record);
    await removeContainer(store, record);
    out.ids.push(record.id);
  }
  return out;
}

export const containerPruneReport = (r: { ids: string[] }) => (r.ids.length ? ['Deleted Containers:', ...r.ids, ''] : []);

export async function runPs(ctx: Context, o: { all?: boolean; quiet?: boolean; size?: boolean; trunc: boolean; filter: string[]; format?: string }): Promise<Output> {
  const format = containerFormat(o);
  parseFormat(format);
  const filters = parseFilters(o.filter, CONTAINER_FILTERS);
  const store = await ctx.store();
  let listed = await listContainers(ctx);
  if (o.size || format.includes('.Size')) {
    for (const l of listed) {
      l.summary.sizeRw = await containerBytes(l.record);
      l.summary.sizeRootFs = l.summary.sizeRw + (store.index.image(l.record.imageId)?.size ?? 0);
    }
  }
  // docker: without -a only running containers; a status filter implies -a (exited= does not)
  if (!o.all && !filters.has('status')) listed = listed.filter((l) => isUpState(l.summary.state)); // docker ps lists restarting ones too
  const shown = filterContainers(listed.map((l) => l.summary), filters, isAncestor(store));
  return renderRows(format, containerRows(shown, { trunc: o.trunc }), CONTAINERS);
}

export async function runContainerPrune(ctx: Context, o: { force?: boolean }): Promise<Output> {
  if (!o.force && !(await confirm('WARNING! This will remove all stopped containers.\nAre you sure you want to continue?'))) {
    ctx.exitCode = 1;
    return undefined;
  }
  const r = await pruneContainers(ctx);
  return [...containerPruneReport(r), `Total reclaimed space: ${humanSize(r.bytes, 4)}`].join('\n');
}
