import { Command, CommanderError } from 'commander';
import { ImgError } from '../store/errors.js';
import { Context, type Output } from './context.js';
import { registerCommitCommands } from './commands/commit.js';
import { registerContainerCommands } from './commands/containers.js';
import { registerImageCommands } from './commands/images.js';
import { registerLifecycleCommands } from './commands/lifecycle.js';
import { registerMountCommands } from './commands/mount.js';
import { registerRunCommands } from './commands/run.js';
import { registerRegistryCommands } from './commands/registry.js';
import { registerSaveCommands } from './commands/save.js';
import { registerServeCommands } from './commands/serve.js';

function describe(err: unknown, debug: boolean): string {
  const e = err as Error;
  const lines = [`error: ${e?.message ?? String(err)}`];
  if (err instanceof ImgError && err.hint) lines.push(`hint: ${err.hint}`);
  if (debug) for (let c = e?.cause; c; c = (c as Error).cause) lines.push(`  caused by: ${(c as Error).stack ?? String(c)}`);
  if (debug && e?.stack) lines.push(e.stack);
  return lines.join('\n');
}

/** Build the program; `print` receives each command's output. */
export function buildProgram(ctxOf: () => Context, print: (s: string) => void): Command {
  const program = new Command('lamina')
    .description('Mount container images as filesystems; pull, push, commit, save and load them')
    .option('--root <dir>', 'store root (env LAMINA_ROOT, default /var/lib/lamina)')
    .option('--debug', 'print error causes and stacks')
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  const action = (run: (ctx: Context, ...args: any[]) => Promise<Output>) => async (...args: any[]) => {
    const out = await run(ctxOf(), ...args.slice(0, -1));
    if (out !== undefined && out !== '') print(out);
  };
  registerImageCommands(program, action);
  registerContainerCommands(program, action);
  registerMountCommands(program, action);
  registerRunCommands(program, action);
  registerLifecycleCommands(program, action);
  registerRegistryCommands(program, action);
  registerSaveCommands(program, action);
  registerCommitCommands(program, action);
  registerServeCommands(program, action);
  return program;
}

/** Run the CLI; returns the exit status. Only bin/lamina.js sets process.exitCode. */
export async function main(argv: string[]): Promise<number> {
  let ctx: Context | undefined;
  const program = buildProgram(() => (ctx ??= new Context(program.opts().root, !!program.opts().debug)), (s) => process.stdout.write(`${s}\n`));
  try {
    await program.parseAsync(argv);
    return ctx?.exitCode ?? 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`${describe(err, !!program.opts().debug)}\n`);
    return ctx?.errorExitCode ?? 1;
  } finally {
    ctx?.close();
  }
}
