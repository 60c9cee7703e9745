import { IMAGE_FILTERS } from '../../image/image-filters.js';
import { collect, type Register } from '../register.js';

const FORMAT_HELP = "'table', 'table TEMPLATE', 'json' or a Go TEMPLATE (see docs.docker.com/go/formatting)";
const actions = () => import('../actions/images.js');

export const registerImageCommands: Register = (_program, action, define) => {
  define(['images', 'image ls|list'], (c) => c.description('List images')
    .argument('[repository]', 'only images of REPOSITORY[:TAG] (a pattern, as --filter reference=)')
    .option('-a, --all', 'show all images (default hides dangling images)')
    .option('-q, --quiet', 'only show image IDs')
    .option('--digests', 'show digests')
    .option('--no-trunc', "don't truncate output")
    .option('-f, --filter <key=value>', `filter output (${IMAGE_FILTERS.join(', ')}); repeatable`, collect, [])
    .option('--format <format>', FORMAT_HELP)
    .action(action(actions, 'runImages')));

  define(['history', 'image history'], (c) => c.description('Show the history of an image')
    .argument('<image>')
    .option('-H, --human', 'print sizes and dates in human readable format (default; -H=false or --no-human for bytes and RFC 3339 dates)', true)
    .option('--no-human')
    .option('--no-trunc', "don't truncate output")
    .option('-q, --quiet', 'only show image IDs')
    .option('--format <format>', FORMAT_HELP)
    .action(action(actions, 'runHistory')));

  define(['tag', 'image tag'], (c) => c.description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
    .argument('<source>').argument('<target>')
    .action(action(actions, 'runTag')));

  define(['rmi', 'image rm|remove'], (c) => c.description('Remove one or more images (each one reported; exits 1 if any failed)')
    .argument('<image...>')
    .option('-f, --force', 'force removal of the image')
    .action(action(actions, 'runRmi')));

  define(['image prune'], (c) => c.description('Remove unused images: untagged ones that no digest names (all unused with -a)')
    .option('-a, --all', 'remove all images no container uses, not just dangling ones')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(action(actions, 'runImagePrune')));
};
