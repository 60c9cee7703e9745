import type { Command } from 'commander';
import { containerBytes, filterContainers, summarizeContainer, type ContainerSummary } from '../../container/container-list.js';
import { CONTAINER_FILTERS } from '../../container/container-filters.js';
import { parseFilters } from '../../image/filters.js';
import { resolveImage } from '../../image/resolve.js';
import { ImgError } from '../../store/errors.js';
import type { Store } from '../../store/store.js';
import { containers, findContainer, removeContainer, type ContainerRecord } from '../../container/containers.js';
import { stopForRemoval } from '../../run/lifecycle.js';
import { containerNow, everyContainerNow } from '../../container/container-state.js';
import { isUpState } from '../../container/container-index.js';
import { serviceFor, serviceMounts } from '../../service/client.js';
import { unmountVia } from '../../service/route.js';
import type { Context } from '../context.js';
import { humanSize } from '../format.js';
import { CONTAINERS, containerFormat, containerRows } from '../format-containers.js';
import { parseFormat, renderRows } from '../format-write.js';
import { confirm } from '../prompt.js';
import { collect, type Register } from '../register.js';

export interface Listed { record: ContainerRecord; summary: ContainerSummary }

/** Every container with its summary (state from the service's or a direct mount). */
export async function listContainers(ctx: Context, socket: string | undefined): Promise<Listed[]> {
  const store = await ctx.store();
  const out: Listed[] = [];
  for (const { record, mount } of await everyContainerNow(store, await serviceMounts(await serviceFor(socket, ctx.root)))) {
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
export async function pruneContainers(ctx: Context, socket: string | undefined): Promise<{ ids: string[]; bytes: number }> {
  const store = await ctx.store();
  const out = { ids: [] as string[], bytes: 0 };
  for (const { record, summary } of await listContainers(ctx, socket)) {
    if (isUpState(summary.state)) continue;
    out.bytes += await containerBytes(record);
    await removeContainer(store, record);
    out.ids.push(record.id);
  }
  return out;
}

export const containerPruneReport = (r: { ids: string[] }) => (r.ids.length ? ['Deleted Containers:', ...r.ids, ''] : []);

export const registerContainerCommands: Register = (program: Command, action, define) => {
  const socket = () => program.opts().socket as string | undefined;

  define(['ps', 'container ls|list|ps'], (c) => c.description('List containers (running ones unless -a; a mounted container counts as running)')
    .option('-a, --all', 'show all containers')
    .option('-q, --quiet', 'only display container IDs')
    .option('-s, --size', 'display total file sizes')
    .option('--no-trunc', "don't truncate output")
    .option('-f, --filter <key=value>', `filter output (${CONTAINER_FILTERS.join(', ')}); repeatable`, collect, [])
    .option('--format <format>', "'table', 'table TEMPLATE', 'json' or a Go TEMPLATE")
    .action(action(async (ctx, o: { all?: boolean; quiet?: boolean; size?: boolean; trunc: boolean; filter: string[]; format?: string }) => {
      const format = containerFormat(o);
      parseFormat(format);
      const filters = parseFilters(o.filter, CONTAINER_FILTERS);
      const store = await ctx.store();
      let listed = await listContainers(ctx, socket());
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
    })));

  define(['rm', 'container rm|remove'], (c) => c.description('Remove one or more containers and their writable layers (each one reported)')
    .argument('<container...>')
    .option('-f, --force', 'kill a running container, unmount a mounted one, first')
    .action(action(async (ctx, names: string[], o: { force?: boolean }) => {
      const store = await ctx.store();
      const svc = await serviceFor(socket(), ctx.root);
      const kept = await serviceMounts(svc);
      await ctx.each(names, async (n) => {
        const before = await containerNow(store, findContainer(store, n), kept);
        if (before.record.run.monitorPid) await stopForRemoval(store, n, !!o.force);
        const c = containers(store).get(before.record.id); // gone when it was run with --rm
        const at = c && (await containerNow(store, c, kept)).mount?.dir;
        if (at && !o.force) {
          throw new ImgError('FAILED_PRECONDITION', `cannot remove container ${c.id.slice(0, 12)}: it is mounted at ${at}`,
            { hint: `unmount it first (\`lamina umount ${at}\`) or use rm -f` });
        }
        if (at) await unmountVia(svc, store, at);
        if (c) await removeContainer(store, c);
        ctx.say(n);
      });
      return undefined;
    })));

  define(['container prune'], (c) => c.description('Remove all stopped (unmounted) containers')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(action(async (ctx, o: { force?: boolean }) => {
      if (!o.force && !(await confirm('WARNING! This will remove all stopped containers.\nAre you sure you want to continue?'))) {
        ctx.exitCode = 1;
        return undefined;
      }
      const r = await pruneContainers(ctx, socket());
      return [...containerPruneReport(r), `Total reclaimed space: ${humanSize(r.bytes, 4)}`].join('\n');
    })));
};
