import type { Command } from 'commander';
import { isNotFound } from '../../layers/errors.js';
import { resolveImage } from '../../layers/ops/resolve.js';
import { createContainer, findContainer } from '../../layers/ops/containers.js';
import { imageView } from '../../fuse/union/image-view.js';
import { startMountServer } from '../../fuse/mount-process.js';
import { mountContainer, unmountDir } from '../../fuse/container-mounts.js';
import type { Register } from './images.js';

export const registerMountCommands: Register = (program: Command, action) => {
  program.command('mount').description('Mount a container read-write, or an image (a new container, or --read-only the image itself)')
    .argument('<container-or-image>').argument('<dir>')
    .option('--read-only', 'mount the image itself, read-only')
    .action(action(async (ctx, name: string, dir: string, o: { readOnly?: boolean }) => {
      const store = await ctx.store();
      if (o.readOnly) {
        const { id } = resolveImage(store, name);
        imageView(store, id); // computes and stores the merged view now, so errors show here and the server starts fast
        await startMountServer(dir, { kind: 'image', root: store.root, image: id }, { readOnly: true, fsname: `lamina:${id.slice(7, 19)}` });
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

  program.command('umount').alias('unmount').description('Unmount a lamina mount and stop its server')
    .argument('<dir>')
    .action(action(async (ctx, dir: string) => {
      await unmountDir(await ctx.store(), dir);
      return undefined;
    }));
};
