import type { Command } from 'commander';
import { ImgError } from '../../layers/errors.js';
import { resolveImage } from '../../layers/ops/resolve.js';
import { imageView } from '../../fuse/union/image-view.js';
import { startMountServer, unmount } from '../../fuse/mount-process.js';
import type { Register } from './images.js';

export const registerMountCommands: Register = (program: Command, action) => {
  program.command('mount').description('Mount an image as a directory (served in the background until umount)')
    .argument('<image>').argument('<dir>')
    .option('--read-only', 'mount the image itself, read-only')
    .action(action(async (ctx, name: string, dir: string, o: { readOnly?: boolean }) => {
      if (!o.readOnly) {
        throw new ImgError('INVALID_ARGUMENT', `mount ${name}: only --read-only image mounts are available in this version`);
      }
      const store = await ctx.store();
      const { id } = resolveImage(store, name);
      imageView(store, id); // computes and stores the merged view now, so errors show here and the server starts fast
      await startMountServer(dir, { kind: 'image', root: store.root, image: id }, { readOnly: true, fsname: `lamina:${id.slice(7, 19)}` });
      return undefined;
    }));

  program.command('umount').alias('unmount').description('Unmount a lamina mount and stop its server')
    .argument('<dir>')
    .action(action(async (_ctx, dir: string) => {
      await unmount(dir);
      return undefined;
    }));
};
