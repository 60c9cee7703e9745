import { CHANGE_INSTRUCTIONS } from '../../image/change-instructions.js';
import { collect, type Register } from '../register.js';

const actions = () => import('../actions/commit.js');

export const registerCommitCommands: Register = (_program, action, define) => {
  define(['commit', 'container commit'], (cmd) => cmd.description("Create a new image from a container's changes")
    .argument('<container>').argument('[reference]', 'tag the new image REPOSITORY[:TAG]')
    .option('-m, --message <message>', 'commit message')
    .option('-a, --author <author>', 'author (e.g. "John Hannibal Smith <hannibal@a-team.com>")')
    .option('-c, --change <instruction>', `apply a Dockerfile instruction (${CHANGE_INSTRUCTIONS.join(', ')}) to the image config; repeatable`, collect, [])
    .action(action(actions, 'runCommit')));

  define(['export', 'container export'], (cmd) => cmd.description("Export a container's filesystem as a tar archive (streamed to STDOUT by default)")
    .argument('<container>')
    .option('-o, --output <file>', 'write to FILE instead of STDOUT')
    .action(action(actions, 'runExport')));
};
