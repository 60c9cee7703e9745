import type { Command } from 'commander';
import { containerDiff } from '../../container/upper/diff.js';
import { imageView } from '../../image/image-view.js';
import { ImgError } from '../../store/errors.js';
import { containers, findContainer, removeContainer } from '../../container/containers.js';
import { isRunning, refreshState, removeStopped } from '../../run/lifecycle.js';
import { specOf } from '../../run/spec-of.js';
import { containerRow, type ContainerRow } from '../container-rows.js';
import { serviceFor } from '../../service/client.js';
import { mountOf, serviceMounts, unmountVia } from '../../service/route.js';
import { table } from '../format.js';
import type { Register } from './images.js';

export const registerContainerCommands: Register = (program: Command, action) => {
  program.command('ps').description('List containers (running or mounted ones unless -a)')
    .option('-a, --all', 'show all containers')
    .option('-q, --quiet', 'only display container IDs')
    .option('--no-trunc', "don't truncate output")
    .option('--format <format>', "'json' for one JSON object per line")
    .action(action(async (ctx, o: { all?: boolean; quiet?: boolean; trunc: boolean; format?: string }) => {
      const store = await ctx.store();
      const kept = await serviceMounts(await serviceFor(program.opts().socket, ctx.root));
      const rows: ContainerRow[] = [];
      for (const listed of containers(store).list()) {
        const c = await refreshState(store, listed);
        const m = await mountOf(store, c, kept);
        if (o.all || m || isRunning(c)) rows.push(containerRow(c, await specOf(store, c), m?.dir, { trunc: o.trunc }));
      }
      if (o.quiet) return rows.map((r) => r.ID).join('\n') || undefined;
      if (o.format === 'json') return rows.map((r) => JSON.stringify(r)).join('\n') || undefined;
      return table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
        rows.map((r) => [r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names]));
    }));

  program.command('rm').description('Remove one or more containers and their writable layers')
    .argument('<container...>')
    .option('-f, --force', 'kill a running container, unmount a mounted one, first')
    .action(action(async (ctx, names: string[], o: { force?: boolean }) => {
      const store = await ctx.store();
      const svc = await serviceFor(program.opts().socket, ctx.root);
      const kept = await serviceMounts(svc);
      const done: string[] = [];
      for (const n of names) {
        const running = await refreshState(store, findContainer(store, n));
        if (running.run.monitorPid) await removeStopped(store, n, !!o.force);
        const c = containers(store).get(running.id);
        const at = c && (await mountOf(store, c, kept))?.dir;
        if (at && !o.force) {
          throw new ImgError('FAILED_PRECONDITION', `cannot remove container ${c.id.slice(0, 12)}: it is mounted at ${at}`,
            { hint: `unmount it first (\`lamina umount ${at}\`) or use rm -f` });
        }
        if (at) await unmountVia(svc, store, at);
        if (c) await removeContainer(store, c);
        done.push(n);
      }
      return done.join('\n');
    }));

  program.command('diff').description("Inspect changes to files or directories on a container's filesystem")
    .argument('<container>')
    .action(action(async (ctx, name: string) => {
      const store = await ctx.store();
      const c = findContainer(store, name);
      const lower = imageView(store, c.imageId);
      return containerDiff(lower, c.upperDir, c.workDir).map((ch) => `${ch.kind} ${ch.path}`).join('\n') || undefined;
    }));
};


