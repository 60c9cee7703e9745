import type { Command } from 'commander';
import { createForRun, runContainer, runDetached, type RunOpts } from '../../run/run.js';
import { collect, type Register } from '../register.js';

/** Flags of docker create and docker run, as commander parses them. */
interface ContainerFlags {
  rm?: boolean; interactive?: boolean; tty?: boolean; name?: string; env: string[]; workdir?: string; user?: string;
  entrypoint?: string; hostname?: string; volume: string[]; publish: string[]; network?: string; restart?: string; init?: boolean;
  addHost: string[]; capAdd: string[]; capDrop: string[]; privileged?: boolean; securityOpt: string[]; detach?: boolean;
}

/** The options docker create and docker run share. */
function containerOptions(cmd: Command): Command {
  return cmd.argument('<image>').argument('[command...]')
    .option('--rm', 'remove the container when it exits')
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('--name <name>', 'assign a name to the container')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user name or UID, optionally with group')
    .option('--entrypoint <cmd>', "override the image's entrypoint")
    .option('--hostname <name>', 'container host name')
    .option('-v, --volume <hostdir:dir[:ro]>', 'bind-mount a host directory (repeatable)', collect, [])
    .option('-p, --publish <[ip:]host:container[/proto]>', "publish a container's port on the host (repeatable)", collect, [])
    .option('--network <mode>', 'private (default: own namespace through pasta), host or none')
    .option('--restart <policy>', 'no, always, unless-stopped or on-failure[:max-retries]')
    .option('--init', 'run an init (tini) as PID 1 that forwards signals and reaps processes')
    .option('--add-host <host:ip>', 'add a line to /etc/hosts (repeatable)', collect, [])
    .option('--cap-add <cap>', 'add a capability, or ALL (repeatable)', collect, [])
    .option('--cap-drop <cap>', 'drop a capability, or ALL (repeatable)', collect, [])
    .option('--privileged', 'all capabilities, no masked paths, no seccomp filter')
    .option('--security-opt <opt>', 'no-new-privileges[:true|false] or seccomp=unconfined (repeatable)', collect, [])
    .passThroughOptions();
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

export const registerRunCommands: Register = (_program, action, define) => {
  define(['run', 'container run'], (c) => containerOptions(c.description('Run a command in a new container'))
    .option('-d, --detach', 'run in the background and print the container ID')
    .action(action(async (ctx, image: string, cmd: string[], o: ContainerFlags) => {
      ctx.errorExitCode = 125;
      const opts = runOpts(image, cmd, o);
      if (o.detach) return (await runDetached(await ctx.store(), opts)).id;
      ctx.exitCode = await runContainer(await ctx.store(), opts);
      return undefined;
    })));

  define(['create', 'container create'], (c) => containerOptions(c.description('Create a new container (an image plus an empty writable layer)'))
    .action(action(async (ctx, image: string, cmd: string[], o: ContainerFlags) => {
      ctx.errorExitCode = 125;
      return (await createForRun(await ctx.store(), { ...runOpts(image, cmd, o), create: true })).id;
    })));
};
