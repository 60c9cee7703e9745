import { containerLogs, parseTail } from '../../run/container-logs.js';
import { execInContainer } from '../../run/exec.js';
import { killContainer, restartContainer, startContainer, stopContainer, waitContainer } from '../../run/lifecycle.js';
import { startAttached } from '../../run/run.js';
import { ImgError } from '../../store/errors.js';
import type { Context } from '../context.js';
import { collect, type Register } from '../register.js';

/** docker's multi-argument commands: each argument's line as it is done, each failure reported, non-zero at the end. */
async function eachName(ctx: Context, names: string[], fn: (name: string) => Promise<string>): Promise<undefined> {
  await ctx.each(names, async (n) => ctx.say(await fn(n)));
  return undefined;
}

function seconds(s: string | undefined, fallback: number): number {
  if (s === undefined) return fallback;
  if (!/^\d+$/.test(s)) throw new ImgError('INVALID_ARGUMENT', `invalid timeout "${s}": want whole seconds`);
  return Number(s);
}

export const registerLifecycleCommands: Register = (_program, action, define) => {
  define(['start', 'container start'], (c) => c.description('Start one or more stopped containers')
    .argument('<container...>')
    .option('-a, --attach', "attach this terminal's output and wait for the container to exit")
    .option('-i, --interactive', "attach this terminal's input")
    .action(action(async (ctx, names: string[], o: { attach?: boolean; interactive?: boolean }) => {
      const store = await ctx.store();
      if (o.attach || o.interactive) {
        if (names.length > 1) throw new ImgError('INVALID_ARGUMENT', 'you cannot start and attach multiple containers at once');
        ctx.exitCode = await startAttached(store, names[0]!, !!o.interactive);
        return undefined;
      }
      return eachName(ctx, names, async (n) => (await startContainer(store, n), n));
    })));

  // stop and restart: the stop signal, then SIGKILL after -t seconds
  for (const [verb, what, fn] of [['stop', 'Stop one or more running containers', stopContainer],
    ['restart', 'Restart one or more containers', restartContainer]] as const) {
    define([verb, `container ${verb}`], (c) => c.description(`${what} (the stop signal, then SIGKILL after the timeout)`)
      .argument('<container...>')
      .option('-t, --time <seconds>', 'seconds to wait for the stop before killing it (default 10)')
      .action(action(async (ctx, names: string[], o: { time?: string }) => {
        const store = await ctx.store();
        const t = seconds(o.time, 10);
        return eachName(ctx, names, async (n) => (await fn(store, n, t), n));
      })));
  }

  define(['kill', 'container kill'], (c) => c.description('Send a signal (default SIGKILL) to one or more running containers')
    .argument('<container...>')
    .option('-s, --signal <signal>', 'signal name or number', 'KILL')
    .action(action(async (ctx, names: string[], o: { signal: string }) => {
      const store = await ctx.store();
      return eachName(ctx, names, async (n) => (await killContainer(store, n, o.signal), n));
    })));

  define(['wait', 'container wait'], (c) => c.description('Block until one or more containers stop, then print their exit codes')
    .argument('<container...>')
    .action(action(async (ctx, names: string[]) => {
      const store = await ctx.store();
      return eachName(ctx, names, async (n) => String(await waitContainer(store, n)));
    })));

  define(['exec', 'container exec'], (c) => c.description('Run a command in a running container')
    .argument('<container>').argument('<command...>')
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user name or UID, optionally with group')
    .option('--privileged', 'every capability for this process')
    .passThroughOptions()
    .action(action(async (ctx, name: string, cmd: string[], o: { interactive?: boolean; tty?: boolean; env: string[]; workdir?: string; user?: string; privileged?: boolean }) => {
      ctx.exitCode = await execInContainer(await ctx.store(), name, {
        cmd, env: o.env, workdir: o.workdir, user: o.user, interactive: !!o.interactive, tty: !!o.tty, privileged: !!o.privileged,
      });
      return undefined;
    })));

  define(['logs', 'container logs'], (c) => c.description('Fetch the output of a container')
    .argument('<container>')
    .option('-f, --follow', 'follow the output until the container stops')
    .option('-n, --tail <lines>', 'only the last N lines ("all" for every line)', 'all')
    .option('-t, --timestamps', 'show timestamps')
    .action(action(async (ctx, name: string, o: { follow?: boolean; tail: string; timestamps?: boolean }) => {
      await containerLogs(await ctx.store(), name, {
        tail: parseTail(o.tail), timestamps: !!o.timestamps, follow: !!o.follow,
        write: (stream, text) => (stream === 'stdout' ? process.stdout : process.stderr).write(text),
      });
      return undefined;
    })));
};
