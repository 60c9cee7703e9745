import { ImgError } from '../../store/errors.js';
import { importTarball, openInput } from '../../image/import.js';
import { load } from '../../image/load.js';
import { familiar } from '../../image/reference.js';
import { saveImages, saveOpts } from '../../image/save.js';
import type { Register } from '../register.js';

export const registerSaveCommands: Register = (_program, action, define) => {
  define(['save', 'image save'], (c) => c.description('Save one or more images to a tar archive (streamed to STDOUT by default)')
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
    })));

  define(['load', 'image load'], (c) => c.description('Load images from a docker-archive or OCI layout (tar or directory)')
    .option('-i, --input <file>', 'read from FILE instead of stdin')
    .option('-q, --quiet', 'suppress output')
    .action(action(async (ctx, o: { input?: string; quiet?: boolean }) => {
      if (!o.input && process.stdin.isTTY) throw new ImgError('INVALID_ARGUMENT', 'requested load from stdin, but stdin is empty');
      const images = await load(await ctx.store(), o.input ?? process.stdin);
      if (o.quiet) return undefined;
      return images.flatMap((i) => (i.tags.length ? i.tags.map((t) => `Loaded image: ${familiar(t)}`) : [`Loaded image ID: ${i.id}`])).join('\n');
    })));

  define(['import', 'image import'], (c) => c.description('Import the contents of a rootfs tarball to create an image')
    .argument('<file>', 'tarball (tar, tar.gz or tar.zst), or - for stdin')
    .argument('[reference]')
    .option('-m, --message <message>', 'commit message for the imported image')
    .action(action(async (ctx, file: string, ref: string | undefined, o: { message?: string }) => {
      const src = file === '-' ? process.stdin : await openInput(file);
      const r = await importTarball(await ctx.store(), src, { source: file, ref, message: o.message });
      return r.id;
    })));
};
