import { ImgError } from '../../store/errors.js';
import { saveImages, saveOpts } from '../../image/save.js';
import type { Register } from './images.js';

export const registerSaveCommands: Register = (program, action) => {
  program.command('save').description('Save one or more images to a tar archive (streamed to STDOUT by default)')
    .argument('<image...>')
    .option('-o, --output <file>', 'write to FILE (or to directory DIR/ as an OCI layout) instead of STDOUT')
    .option('--format <format>', 'docker-archive (default; also an OCI layout, as docker 25+ writes), oci, or oci-dir')
    .action(action(async (ctx, names: string[], o: { output?: string; format?: string }) => {
      const opts = saveOpts(o.output, o.format);
      if (opts.output === undefined && process.stdout.isTTY) {
        throw new ImgError('INVALID_ARGUMENT', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
      }
      await saveImages(await ctx.store(), names, opts);
      return undefined;
    }));
};
