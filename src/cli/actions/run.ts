import { createForRun, runContainer, runDetached, type RunOpts } from '../../run/run.js';
import type { Context, Output } from '../context.js';

/** Flags of docker create and docker run, as commander parses them. */
interface ContainerFlags {
  rm?: boolean; interactive?: boolean; tty?: boolean; name?: string; env: string[]; workdir?: string; user?: string;
  entrypoint?: string; hostname?: string; volume: string[]; publish: string[]; network?: string; restart?: string; init?: boolean;
  addHost: string[]; capAdd: string[]; capDrop: string[]; privileged?: boolean; securityOpt: string[]; detach?: boolean;
}

function runOpts(image: string, cmd: string[], o: ContainerFlags): RunOpts {
  return {
    image, cmd, env: o.env, workdir: o.workdir, user: o.user, entrypoint: o.entrypoint, hostname: o.hostname,
    name: o.name, rm: !!o.rm, interactive: !!o.interactive, tty: !!o.tty, volumes: o.volume, detach: !!o.detach,
    publish: o.publish, network: o.network, restart: o.restart, init: !!o.init, addHost: o.addHost, capAdd: o.capAdd,
    capDrop: o.capDrop, privileged: !!o.privileged, securityOpt: o.securityOpt,
    say: (l) => process.stderr.write(`${l}\n`),
  };
}

export async function runRun(ctx: Context, image: string, cmd: string[], o: ContainerFlags): Promise<Output> {
  ctx.errorExitCode = 125;
  const opts = runOpts(image, cmd, o);
  if (o.detach) return (await runDetached(await ctx.store(), opts)).id;
  ctx.exitCode = await runContainer(await ctx.store(), opts);
  return undefined;
}

export async function runCreate(ctx: Context, image: string, cmd: string[], o: ContainerFlags): Promise<Output> {
  ctx.errorExitCode = 125;
  return (await createForRun(await ctx.store(), { ...runOpts(image, cmd, o), create: true })).id;
}
