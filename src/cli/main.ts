import { Command, CommanderError } from 'commander';
import { Context, describeError, type Output } from './context.js';
import { registerBuildCommands } from './commands/build.js';
import { registerCommitCommands } from './commands/commit.js';
import { registerContainerCommands } from './commands/containers.js';
import { registerDiffCommands } from './commands/diff.js';
import { registerFsckCommands } from './commands/fsck.js';
import { registerImageCommands } from './commands/images.js';
import { registerInspectCommands } from './commands/inspect.js';
import { registerLayerCommands } from './commands/layers.js';
import { registerLifecycleCommands } from './commands/lifecycle.js';
import { registerMountCommands } from './commands/mount.js';
import { registerRunCommands } from './commands/run.js';
import { registerRegistryCommands } from './commands/registry.js';
import { registerSaveCommands } from './commands/save.js';
import { registerServeCommands } from './commands/serve.js';
import { registerSystemCommands } from './commands/system.js';
import type { Action, Define, Run } from './register.js';
import { VERSION } from './version.js';


/** 128 + SIGPIPE: what a shell reports for a writer whose reader went away. */
const EPIPE_STATUS = 141;
const isEpipe = (err: unknown) => (err as NodeJS.ErrnoException)?.code === 'EPIPE';

/** docker's boolean flags take `=false` (`history -H=false`); commander spells that `--no-human`. Only history has one. */
function dockerBooleans(argv: string[]): string[] {
  const at = argv.indexOf('history');
  if (at < 0) return argv;
  return argv.map((a, i) => {
    const m = i > at ? /^(-H|--human)=(true|false|1|0)$/.exec(a) : null;
    return m ? (/^(true|1)$/.test(m[2]!) ? '--human' : '--no-human') : a;
  });
}

/** docker's usage errors: one line, then where to read more. */
function oneLineUsage(cmd: Command): void {
  const path: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) path.unshift(c.name());
  cmd.showHelpAfterError(`See '${path.join(' ')} --help'.`);
  for (const sub of cmd.commands) oneLineUsage(sub);
}

/** Build the program; `print` receives each command's output. */
export function buildProgram(ctxOf: () => Context, print: (s: string) => void): Command {
  const program = new Command('lamina')
    .description('Mount container images as filesystems; pull, push, commit, save and load them')
    .option('--root <dir>', 'store root (env LAMINA_ROOT, default /var/lib/lamina)')
    .option('--debug', 'print error causes and stacks')
    .version(`lamina version ${VERSION}`, '-v, --version', 'print the version and exit')
    .enablePositionalOptions()
    .exitOverride();
  const groups = {
    image: program.command('image').description('Manage images'),
    container: program.command('container').description('Manage containers'),
    system: program.command('system').description('Manage lamina'),
  } as Record<string, Command>;
  const define: Define = (names, build) => {
    for (const n of names) {
      const [path, ...aliases] = n.split('|');
      const words = path!.split(' ');
      const parent = words.length > 1 ? groups[words[0]!]! : program;
      const cmd = parent.command(words[words.length - 1]!);
      for (const a of aliases) cmd.alias(a);
      build(cmd);
    }
  };
  const action: Action = (load, name) => async (...args: any[]) => {
    const run = (await load())[name] as Run;
    const out: Output = await run(ctxOf(), ...args.slice(0, -1));
    if (out !== undefined && out !== '') print(out);
  };
  for (const register of [registerImageCommands, registerInspectCommands, registerLayerCommands, registerContainerCommands, registerDiffCommands,
    registerMountCommands, registerRunCommands, registerLifecycleCommands, registerRegistryCommands, registerSaveCommands, registerCommitCommands, registerBuildCommands,
    registerSystemCommands, registerFsckCommands, registerServeCommands]) {
    register(program, action, define);
  }
  oneLineUsage(program);
  return program;
}

/** Run the CLI; returns the exit status. Only bin/lamina.js sets process.exitCode. */
export async function main(argv: string[]): Promise<number> {
  let ctx: Context | undefined;
  let epipe = false;
  // A reader that goes away (`lamina images | head`) ends the output quietly; the work already started finishes.
  process.stdout.on('error', (err) => {
    if (!isEpipe(err)) throw err;
    epipe = true;
    process.exitCode = EPIPE_STATUS;
  });
  const contextOf = () => {
    const o = program.opts();
    return (ctx ??= new Context(o.root, !!o.debug, o.socket));
  };
  const program = buildProgram(contextOf, (s) => process.stdout.write(`${s}\n`));
  try {
    await program.parseAsync(dockerBooleans(argv));
    return epipe ? EPIPE_STATUS : ctx?.exitCode ?? 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (epipe || isEpipe(err)) return EPIPE_STATUS;
    process.stderr.write(`${describeError(err, !!program.opts().debug)}\n`);
    return ctx?.errorExitCode ?? 1;
  } finally {
    ctx?.close();
  }
}
