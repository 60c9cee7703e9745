import { collect, type Register } from '../register.js';

const actions = () => import('../actions/lifecycle.js');

export const registerLifecycleCommands: Register = (_program, action, define) => {
  define(['start', 'container start'], (c) => c.description('Start one or more stopped containers')
    .argument('<container...>')
    .option('-a, --attach', "attach this terminal's output and wait for the container to exit")
    .option('-i, --interactive', "attach this terminal's input")
    .action(action(actions, 'runStart')));

  // stop and restart: the stop signal, then SIGKILL after -t seconds
  for (const [verb, what, run] of [['stop', 'Stop one or more running containers', 'runStop'],
    ['restart', 'Restart one or more containers', 'runRestart']] as const) {
    define([verb, `container ${verb}`], (c) => c.description(`${what} (the stop signal, then SIGKILL after the timeout)`)
      .argument('<container...>')
      .option('-t, --time <seconds>', 'seconds to wait for the stop before killing it (default 10)')
      .action(action(actions, run)));
  }

  define(['kill', 'container kill'], (c) => c.description('Send a signal (default SIGKILL) to one or more running containers')
    .argument('<container...>')
    .option('-s, --signal <signal>', 'signal name or number', 'KILL')
    .action(action(actions, 'runKill')));

  define(['wait', 'container wait'], (c) => c.description('Block until one or more containers stop, then print their exit codes')
    .argument('<container...>')
    .action(action(actions, 'runWait')));

  define(['exec', 'container exec'], (c) => c.description('Run a command in a running container')
    .argument('<container>').argument('<command...>')
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user name or UID, optionally with group')
    .option('--privileged', 'every capability for this process')
    .passThroughOptions()
    .action(action(actions, 'runExec')));

  define(['logs', 'container logs'], (c) => c.description('Fetch the output of a container')
    .argument('<container>')
    .option('-f, --follow', 'follow the output until the container stops')
    .option('-n, --tail <lines>', 'only the last N lines ("all" for every line)', 'all')
    .option('-t, --timestamps', 'show timestamps')
    .action(action(actions, 'runLogs')));
};
