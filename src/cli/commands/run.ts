import type { Command } from 'commander';
import { collect, type Register } from '../register.js';

const actions = () => import('../actions/run.js');

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

export const registerRunCommands: Register = (_program, action, define) => {
  define(['run', 'container run'], (c) => containerOptions(c.description('Run a command in a new container'))
    .option('-d, --detach', 'run in the background and print the container ID')
    .action(action(actions, 'runRun')));

  define(['create', 'container create'], (c) => containerOptions(c.description('Create a new container (an image plus an empty writable layer)'))
    .action(action(actions, 'runCreate')));
};
