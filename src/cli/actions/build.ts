import { readFileSync } from 'node:fs';
import { build } from '../../build/build.js';
import { ImgError } from '../../store/errors.js';
import type { Context, Output } from '../context.js';

/** SOURCE_DATE_EPOCH from --build-arg (as BuildKit takes it) or the environment: whole seconds. */
function sourceDateEpoch(buildArgs: string[]): number | undefined {
  const arg = buildArgs.find((a) => a.startsWith('SOURCE_DATE_EPOCH='))?.split('=')[1];
  const v = arg ?? process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new ImgError('INVALID_ARGUMENT', `invalid SOURCE_DATE_EPOCH "${v}": want whole seconds since 1970`);
  return Number(v);
}

export async function runBuild(ctx: Context, context: string, o: {
  tag: string[]; file?: string; buildArg: string[]; target?: string; cache: boolean; quiet?: boolean; progress: string;
}): Promise<Output> {
  if (!['plain', 'tty', 'auto'].includes(o.progress)) throw new ImgError('INVALID_ARGUMENT', `invalid --progress "${o.progress}": want plain or tty`);
  const dockerfile = o.file === '-' ? { name: 'Dockerfile', text: readFileSync(0, 'utf8') } : o.file;
  const captured: Buffer[] = [];
  const say = (l: string) => process.stdout.write(`${l}\n`);
  try {
    const r = await build(await ctx.store(), {
      context, dockerfile, tags: o.tag, buildArgs: o.buildArg, target: o.target, noCache: !o.cache,
      epoch: sourceDateEpoch(o.buildArg),
      out: o.quiet ? () => undefined : say,
      runOutput: o.quiet ? (b) => captured.push(b) : undefined,
    });
    return o.quiet ? r.id : undefined;
  } catch (err) {
    if (captured.length) process.stderr.write(Buffer.concat(captured));
    throw err;
  }
}
