import type { Command } from 'commander';
import { isNotFound } from '../../store/errors.js';
import { resolveImage } from '../../image/resolve.js';
import { createContainer, findContainer } from '../../container/containers.js';
import { imageView } from '../../image/image-view.js';
import { canonicalDir, mountContainer, mountImage } from '../../container/container-mounts.js';
import { serviceFor } from '../../service/client.js';
import { mountRequest, unmountVia } from '../../service/route.js';
import { ImgError } from '../../store/errors.js';
import type { Register } from '../register.js';

/** An empty DIR ('' from an unset shell variable) would resolve to the current directory: refuse it. */
function nonEmptyDir(dir: string, verb: string): void {
  if (dir.trim() === '') throw new ImgError('INVALID_ARGUMENT', `${verb}: the directory argument is empty`);
}

export const registerMountCommands: Register = (program: Command, action) => {
  program.command('mount').description('Mount a container read-write, or an image (a new container, or --read-only the image itself)')
    .argument('<container-or-image>').argument('<dir>')
    .option('--read-only', 'mount the image itself, read-only')
    .action(action(async (ctx, name: string, given: string, o: { readOnly?: boolean }) => {
      nonEmptyDir(given, 'mount');
      const dir = await canonicalDir(given); // a bad mount point fails before a container is created
      const store = await ctx.store();
      const svc = await serviceFor(program.opts().socket, ctx.root);
      if (svc) {
        const r = await svc.mount(mountRequest(store, name, dir, !!o.readOnly));
        return r.created ? r.mount.containerId : undefined;
      }
      if (o.readOnly) {
        const { id } = resolveImage(store, name);
        imageView(store, id); // computes and stores the merged view now, so errors show here and the server starts fast
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
    }));

  program.command('umount').alias('unmount').description('Unmount a lamina mount and stop its server (the service forgets it)')
    .argument('<dir>')
    .action(action(async (ctx, dir: string) => {
      nonEmptyDir(dir, 'umount');
      await unmountVia(await serviceFor(program.opts().socket, ctx.root), await ctx.store(), dir);
      return undefined;
    }));
};
