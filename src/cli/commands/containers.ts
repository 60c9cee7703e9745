import type { Command } from 'commander';
import { ImgError } from '../../store/errors.js';
import { containers, createContainer, findContainer, removeContainer, type ContainerRecord } from '../../container/containers.js';
import { serviceFor } from '../../service/client.js';
import { mountOf, serviceMounts, unmountVia } from '../../service/route.js';
import { since, table } from '../format.js';
import type { Register } from './images.js';

export const registerContainerCommands: Register = (program: Command, action) => {
  program.command('create').description('Create a new container (an image plus an empty writable layer)')
    .argument('<image>')
    .option('--name <name>', 'assign a name to the container')
    .action(action(async (ctx, ref: string, o: { name?: string }) => (await createContainer(await ctx.store(), ref, o)).id));

  program.command('ps').description('List containers (mounted ones unless -a)')
    .option('-a, --all', 'show all containers')
    .option('-q, --quiet', 'only display container IDs')
    .option('--no-trunc', "don't truncate output")
    .option('--format <format>', "'json' for one JSON object per line")
    .action(action(async (ctx, o: { all?: boolean; quiet?: boolean; trunc: boolean; format?: string }) => {
      const store = await ctx.store();
      const kept = await serviceMounts(await serviceFor(program.opts().socket, ctx.root));
      const rows = [];
      for (const c of containers(store).list()) {
        const m = await mountOf(store, c, kept);
        if (m || o.all) rows.push({ c, status: m?.status ?? 'Created', at: m?.dir });
      }
      const id = (c: ContainerRecord) => (o.trunc ? c.id.slice(0, 12) : c.id);
      if (o.quiet) return rows.map((r) => id(r.c)).join('\n') || undefined;
      if (o.format === 'json') {
        return rows.map(({ c, status, at }) => JSON.stringify({ ID: id(c), Image: c.imageRef, ImageID: c.imageId, CreatedAt: c.created,
          RunningFor: since(c.created), Status: status, Names: c.name, Mounts: at ?? '' })).join('\n') || undefined;
      }
      return table(['CONTAINER ID', 'IMAGE', 'CREATED', 'STATUS', 'NAMES'],
        rows.map(({ c, status }) => [id(c), c.imageRef, since(c.created), status, c.name]));
    }));

  program.command('rm').description('Remove one or more containers and their writable layers')
    .argument('<container...>')
    .option('-f, --force', 'unmount a mounted container first')
    .action(action(async (ctx, names: string[], o: { force?: boolean }) => {
      const store = await ctx.store();
      const svc = await serviceFor(program.opts().socket, ctx.root);
      const kept = await serviceMounts(svc);
      const done: string[] = [];
      for (const n of names) {
        const c = findContainer(store, n);
        const at = (await mountOf(store, c, kept))?.dir;
        if (at && !o.force) {
          throw new ImgError('FAILED_PRECONDITION', `cannot remove container ${c.id.slice(0, 12)}: it is mounted at ${at}`,
            { hint: `unmount it first (\`lamina umount ${at}\`) or use rm -f` });
        }
        if (at) await unmountVia(svc, store, at);
        await removeContainer(store, c);
        done.push(n);
      }
      return done.join('\n');
    }));
};
