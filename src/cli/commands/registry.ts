import type { Register } from '../register.js';

const actions = () => import('../actions/registry.js');

export const registerRegistryCommands: Register = (program, action, define) => {
  define(['pull', 'image pull'], (cmd) => cmd.description('Download an image from a registry')
    .argument('<reference>', 'NAME[:TAG|@DIGEST]')
    .option('-q, --quiet', 'suppress verbose output')
    .option('--platform <platform>', 'os/arch[/variant] to pick from a multi-platform image')
    .option('--max-concurrent-downloads <n>', 'layers downloaded at once (env LAMINA_MAX_CONCURRENT_DOWNLOADS, default 3)')
    .action(action(actions, 'runPull')));

  define(['push', 'image push'], (cmd) => cmd.description('Upload an image to a registry')
    .argument('<reference>', 'NAME[:TAG]')
    .option('-q, --quiet', 'suppress verbose output')
    .option('--max-concurrent-uploads <n>', 'blobs uploaded at once (env LAMINA_MAX_CONCURRENT_UPLOADS, default 5)')
    .action(action(actions, 'runPush')));

  program.command('login').description('Log in to a registry (credentials go to $DOCKER_CONFIG/config.json)')
    .argument('[server]', 'registry host[:port] (default docker.io)')
    .option('-u, --username <username>')
    .option('-p, --password <password>')
    .option('--password-stdin', 'take the password from stdin')
    .action(action(actions, 'runLogin'));

  program.command('logout').description('Log out from a registry')
    .argument('[server]', 'registry host[:port] (default docker.io)')
    .action(action(actions, 'runLogout'));

  program.command('search').description('Search a registry for repositories, or list the tags of one (--tags)')
    .argument('<term>', '[REGISTRY/]TERM, or REPOSITORY with --tags')
    .option('--tags', 'list the tags of the repository TERM')
    .option('--limit <n>', 'at most N results')
    .action(action(actions, 'runSearch'));
};
