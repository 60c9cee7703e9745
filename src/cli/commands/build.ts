import { readFileSync } from 'node:fs';
import { build } from '../../build/build.js';
import { ImgError } from '../../store/errors.js';
import { collect, type Register } from '../register.js';

/** SOURCE_DATE_EPOCH from --build-arg (as BuildKit takes it) or the environment: whole seconds. */
function sourceDateEpoch(buildArgs: string[]): number | undefined {
  const arg = buildArgs.find((a) => a.startsWith('SOURCE_DATE_EPOCH='))?.split('=')[1];
  const v = arg ?? process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new ImgError('INVALID_ARGUMENT', `invalid SOURCE_DATE_EPOCH "${v}": want whole seconds since 1970`);
  return Number(v);
}

export const registerBuildCommands: Register = (_program, action, define) => {
  define(['build', 'image build'], (c) => c.description('Build an image from a Dockerfile')
    .argument('<context>', 'the build context directory')
    .option('-t, --tag <name:tag>', 'name and optionally a tag (repeatable)', collect, [])
    .option('-f, --file <file>', 'the Dockerfile (default CONTEXT/Dockerfile; - for stdin)')
    .option('--build-arg <key=value>', 'set a build-time variable (repeatable)', collect, [])
    .option('--target <stage>', 'build up to this stage')
    .option('--no-cache', 'do not use the build cache')
    .option('-q, --quiet', 'print only the image ID (RUN output only when a step fails)')
    .option('--progress <type>', 'plain or tty (the same lines; tty is accepted for docker compatibility)', 'plain')
    .action(action(async (ctx, context: string, o: {
      tag: string[]; file?: string; buildArg: string[]; target?: string; cache: boolean; quiet?: boolean; progress: string;
    }) => {
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
    })));
};
