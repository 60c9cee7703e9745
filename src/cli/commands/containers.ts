import type { Command } from 'commander';
import { canonicalDir } from '../../fuse/mountinfo.js';
import { mountRecord, startMountServer, unmount } from '../../fuse/mount-process.js';
import { containerDiff } from '../../fuse/upper/diff.js';
import { imageView } from '../../fuse/union/image-view.js';
import { ImgError } from '../../layers/errors.js';
import { containers, createContainer, findContainer, removeContainer, type ContainerRecord } from '../../layers/ops/containers.js';
import type { Store } from '../../layers/store.js';
import { since, table } from '../format.js';
import type { Register } from './images.js';

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
      const rows = [];
      for (const c of containers(store).list()) {
        const at = await liveMount(store, c);
        if (at || o.all) rows.push({ c, status: at ? `Mounted at ${at}` : 'Created' });
      }
      const id = (c: ContainerRecord) => (o.trunc ? c.id.slice(0, 12) : c.id);
      if (o.quiet) return rows.map((r) => id(r.c)).join('\n') || undefined;
      if (o.format === 'json') {
        return rows.map(({ c, status }) => JSON.stringify({ ID: id(c), Image: c.imageRef, ImageID: c.imageId, CreatedAt: c.created,
          RunningFor: since(c.created), Status: status, Names: c.name, Mounts: c.mountedAt ?? '' })).join('\n') || undefined;
      }
      return table(['CONTAINER ID', 'IMAGE', 'CREATED', 'STATUS', 'NAMES'],
        rows.map(({ c, status }) => [id(c), c.imageRef, since(c.created), status, c.name]));
    }));

  program.command('rm').description('Remove one or more containers and their writable layers')
    .argument('<container...>')
    .option('-f, --force', 'unmount a mounted container first')
    .action(action(async (ctx, names: string[], o: { force?: boolean }) => {
      const store = await ctx.store();
      const done: string[] = [];
      for (const n of names) {
        const c = findContainer(store, n);
        const at = await liveMount(store, c);
        if (at && !o.force) {
          throw new ImgError('FAILED_PRECONDITION', `cannot remove container ${c.id.slice(0, 12)}: it is mounted at ${at}`,
            { hint: `unmount it first (\`lamina umount ${at}\`) or use rm -f` });
        }
        if (at) await unmountDir(store, at);
        await removeContainer(store, c);
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


