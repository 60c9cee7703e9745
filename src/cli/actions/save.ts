import { ImgError } from '../../store/errors.js';
import { importTarball, openInput } from '../../image/import.js';
import { load } from '../../image/load.js';
import { familiar } from '../../image/reference.js';
import { saveImages, saveOpts } from '../../image/save.js';
import type { Context, Output } from '../context.js';

export async function runSave(ctx: Context, names: string[], o: { output?: string; format?: string }): Promise<Output> {
  const opts = saveOpts(o.output, o.format);
  if (opts.output === undefined && process.stdout.isTTY) {
    throw new ImgError('INVALID_ARGUMENT', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
  }
  await saveImages(await ctx.store(), names, opts);
  return undefined;
}

export async function runLoad(ctx: Context, o: { input?: string; quiet?: boolean }): Promise<Output> {
  if (!o.input && process.stdin.isTTY) throw new ImgError('INVALID_ARGUMENT', 'requested load from stdin, but stdin is empty');
  const images = await load(await ctx.store(), o.input ?? process.stdin);
  if (o.quiet) return undefined;
  return images.flatMap((i) => (i.tags.length ? i.tags.map((t) => `Loaded image: ${familiar(t)}`) : [`Loaded image ID: ${i.id}`])).join('\n');
}

export async function runImport(ctx: Context, file: string, ref: string | undefined, o: { message?: string }): Promise<Output> {
  const src = file === '-' ? process.stdin : await openInput(file);
  const r = await importTarball(await ctx.store(), src, { source: file, ref, message: o.message });
  return r.id;
}
