import type { Command } from 'commander';
import { runContainer } from '../../run/run.js';
import type { Register } from './images.js';

const collect = (v: string, acc: string[]) => [...acc, v];

export const registerRunCommands: Register = (program: Command, action) => {
  program.command('run').description('Run a command in a new container (host network; mount, PID, UTS and IPC namespaces of its own)')
    .argument('<image>').argument('[command...]')
    .option('--rm', 'remove the container when the command exits')
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'use the terminal (stdin must be a TTY)')
    .option('--name <name>', 'assign a name to the container')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user name or UID, optionally with group')
    .option('--entrypoint <cmd>', "override the image's entrypoint")
    .option('--hostname <name>', 'container host name')
    .option('-v, --volume <hostdir:dir[:ro]>', 'bind-mount a host directory (repeatable)', collect, [])
    .passThroughOptions()
    .action(action(async (ctx, image: string, cmd: string[], o: {
      rm?: boolean; interactive?: boolean; tty?: boolean; name?: string; env: string[]; workdir?: string; user?: string;
      entrypoint?: string; hostname?: string; volume: string[];
    }) => {
      ctx.errorExitCode = 125;
      const code = await runContainer(await ctx.store(), {
        image, cmd, env: o.env, workdir: o.workdir, user: o.user, entrypoint: o.entrypoint, hostname: o.hostname,
        name: o.name, rm: !!o.rm, interactive: !!o.interactive, tty: !!o.tty, volumes: o.volume,
        say: (l) => process.stderr.write(`${l}\n`),
      });
      ctx.exitCode = code;
      return undefined;
    }));
};
