import { CONTAINER_FILTERS } from '../../container/container-filters.js';
import { collect, type Register } from '../register.js';

const actions = () => import('../actions/containers.js');

export const registerContainerCommands: Register = (_program, action, define) => {
  define(['ps', 'container ls|list|ps'], (c) => c.description('List containers (running ones unless -a; a mounted container counts as running)')
    .option('-a, --all', 'show all containers')
    .option('-q, --quiet', 'only display container IDs')
    .option('-s, --size', 'display total file sizes')
    .option('--no-trunc', "don't truncate output")
    .option('-f, --filter <key=value>', `filter output (${CONTAINER_FILTERS.join(', ')}); repeatable`, collect, [])
    .option('--format <format>', "'table', 'table TEMPLATE', 'json' or a Go TEMPLATE")
    .action(action(actions, 'runPs')));

  define(['rm', 'container rm|remove'], (c) => c.description('Remove one or more containers and their writable layers (each one reported)')
    .argument('<container...>')
    .option('-f, --force', 'kill a running container, unmount a mounted one, first')
    .action(action(() => import('../actions/rm.js'), 'runRm')));

  define(['container prune'], (c) => c.description('Remove all stopped (unmounted) containers')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(action(actions, 'runContainerPrune')));
};
