import type { Register } from '../register.js';

export const registerDiffCommands: Register = (_program, action, define) => {
  define(['diff', 'container diff'], (c) => c
    .description("Show changes: a container's against its image, image B against image A, or one layer of an image")
    .usage('CONTAINER | IMAGE IMAGE | IMAGE --layer N')
    .argument('<container-or-image>').argument('[image]')
    .option('--layer <n>', 'what layer N of the image (1 = base, as lamina layers numbers them) changes')
    .option('--format <format>', "'json' for one JSON object per line")
    .action(action(() => import('../actions/diff.js'), 'runDiff')));
};
