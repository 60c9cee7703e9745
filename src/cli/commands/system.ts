import type { Register } from '../register.js';

const actions = () => import('../actions/system.js');

export const registerSystemCommands: Register = (_program, action, define) => {
  define(['info', 'system info'], (c) => c.description("Show store-wide information and the service's state")
    .option('-f, --format <format>', "'json' or a Go TEMPLATE over the info object")
    .action(action(actions, 'runInfo')));

  define(['version'], (c) => c.description('Show the lamina version information')
    .option('-f, --format <format>', "'json' or a Go TEMPLATE (e.g. '{{.Client.Version}}')")
    .action(action(() => import('../actions/version.js'), 'runVersion')));

  define(['system df'], (c) => c.description('Show disk usage: each shared layer counted once; reclaimable = what no container needs')
    .option('-v, --verbose', 'show detailed information on space usage')
    .option('--format <format>', "'table', 'json' or a Go TEMPLATE")
    .action(action(actions, 'runSystemDf')));

  define(['system prune'], (c) => c.description('Remove stopped containers and dangling images (all unused images with -a)')
    .option('-a, --all', 'remove all unused images, not just dangling ones')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(action(actions, 'runSystemPrune')));

  define(['gc', 'system gc'], (c) => c.description('Remove blobs that no image or layer refers to, and the staging of pulls that died')
    .action(action(actions, 'runGc')));
};
