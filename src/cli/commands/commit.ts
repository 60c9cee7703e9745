import type { Command } from 'commander';
import { containerExportTar, containerLayerTar, flushMount } from '../../container/container-tar.js';
import { liveMount } from '../../container/container-mounts.js';
import { imageView } from '../../image/image-view.js';
import { ImgError } from '../../store/errors.js';
import { commitImage } from '../../image/commit.js';
import { CHANGE_INSTRUCTIONS } from '../../image/config-changes.js';
import { findContainer, type ContainerRecord } from '../../container/containers.js';
import { writeTar } from '../../image/export.js';
import type { Store } from '../../store/store.js';
import type { Register } from '../register.js';

const collect = (v: string, all: string[]) => [...all, v];

/** A mounted container's kernel-held writes reach its upper dir first (see flushMount). */
async function settle(store: Store, c: ContainerRecord): Promise<void> {
  const at = await liveMount(store, c);
  if (at) await flushMount(at);
}

export const registerCommitCommands: Register = (_program: Command, action, define) => {
  define(['commit', 'container commit'], (cmd) => cmd.description("Create a new image from a container's changes")
    .argument('<container>').argument('[reference]', 'tag the new image REPOSITORY[:TAG]')
    .option('-m, --message <message>', 'commit message')
    .option('-a, --author <author>', 'author (e.g. "John Hannibal Smith <hannibal@a-team.com>")')
    .option('-c, --change <instruction>', `apply a Dockerfile instruction (${CHANGE_INSTRUCTIONS.join(', ')}) to the image config; repeatable`, collect, [])
    .action(action(async (ctx, name: string, ref: string | undefined, o: { message?: string; author?: string; change: string[] }) => {
      const store = await ctx.store();
      const c = findContainer(store, name);
      await settle(store, c);
      const layer = containerLayerTar(imageView(store, c.imageId), c.upperDir, c.workDir);
      const r = await commitImage(store, { parent: c.imageId, layer, message: o.message, author: o.author, changes: o.change, ref,
        what: `commit of container ${c.id.slice(0, 12)}` });
      return r.id;
    })));

  define(['export', 'container export'], (cmd) => cmd.description("Export a container's filesystem as a tar archive (streamed to STDOUT by default)")
    .argument('<container>')
    .option('-o, --output <file>', 'write to FILE instead of STDOUT')
    .action(action(async (ctx, name: string, o: { output?: string }) => {
      const out = o.output === '-' ? undefined : o.output;
      if (out === undefined && process.stdout.isTTY) {
        throw new ImgError('INVALID_ARGUMENT', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
      }
      const store = await ctx.store();
      const c = findContainer(store, name);
      await settle(store, c);
      await writeTar(containerExportTar(imageView(store, c.imageId), c.upperDir, c.workDir), out);
      return undefined;
    })));
};
