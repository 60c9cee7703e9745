import { containerLogs, parseTail } from '../../run/container-logs.js';
import { execInContainer } from '../../run/exec.js';
import { killContainer, restartContainer, startContainer, stopContainer, waitContainer } from '../../run/lifecycle.js';
import { startAttached } from '../../run/run.js';
import { ImgError } from '../../store/errors.js';
import type { Store } from '../../store/store.js';
import type { Context, Output } from '../context.js';

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

export async function runStart(ctx: Context, names: string[], o: { attach?: boolean; interactive?: boolean }): Promise<Output> {
  const store = await ctx.store();
  if (o.attach || o.interactive) {
    if (names.length > 1) throw new ImgError('INVALID_ARGUMENT', 'you cannot start and attach multiple containers at once');
    ctx.exitCode = await startAttached(store, names[0]!, !!o.interactive);
    return undefined;
  }
  return eachName(ctx, names, async (n) => (await startContainer(store, n), n));
}

/** stop and restart: `fn` on each container, with -t's seconds (default 10) before SIGKILL. */
async function stopWith(fn: (store: Store, name: string, seconds: number) => Promise<unknown>, ctx: Context, names: string[], o: { time?: string }): Promise<Output> {
  const store = await ctx.store();
  const t = seconds(o.time, 10);
  return eachName(ctx, names, async (n) => (await fn(store, n, t), n));
}

export const runStop = (ctx: Context, names: string[], o: { time?: string }): Promise<Output> => stopWith(stopContainer, ctx, names, o);
export const runRestart = (ctx: Context, names: string[], o: { time?: string }): Promise<Output> => stopWith(restartContainer, ctx, names, o);

export async function runKill(ctx: Context, names: string[], o: { signal: string }): Promise<Output> {
  const store = await ctx.store();
  return eachName(ctx, names, async (n) => (await killContainer(store, n, o.signal), n));
}

export async function runWait(ctx: Context, names: string[]): Promise<Output> {
  const store = await ctx.store();
  return eachName(ctx, names, async (n) => String(await waitContainer(store, n)));
}

export async function runExec(ctx: Context, name: string, cmd: string[],
  o: { interactive?: boolean; tty?: boolean; env: string[]; workdir?: string; user?: string; privileged?: boolean }): Promise<Output> {
  ctx.exitCode = await execInContainer(await ctx.store(), name, {
    cmd, env: o.env, workdir: o.workdir, user: o.user, interactive: !!o.interactive, tty: !!o.tty, privileged: !!o.privileged,
  });
  return undefined;
}

export async function runLogs(ctx: Context, name: string, o: { follow?: boolean; tail: string; timestamps?: boolean }): Promise<Output> {
  await containerLogs(await ctx.store(), name, {
    tail: parseTail(o.tail), timestamps: !!o.timestamps, follow: !!o.follow,
    write: (stream, text) => (stream === 'stdout' ? process.stdout : process.stderr).write(text),
  });
  return undefined;
}
