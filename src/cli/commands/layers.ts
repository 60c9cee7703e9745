import { collect, type Register } from '../register.js';

const actions = () => import('../actions/layers.js');

export const registerLayerCommands: Register = (_program, action, define) => {
  define(['layers', 'image layers'], (c) => c.description("List an image's layers: history and the files each adds, changes and deletes")
    .argument('<image>')
    .option('--no-trunc', "don't truncate output")
    .option('--format <format>', "'json' for one JSON object per line")
    .action(action(actions, 'runLayers')));

  define(['which'], (c) => c.description('Show which layer provides each path of an image, what it shadows, or what deleted it')
    .argument('<image>').argument('<path...>')
    .option('--format <format>', "'json' for one JSON object per line")
    .action(action(actions, 'runWhich')));

  define(['find'], (c) => c.description("Search images' merged views from the index (find(1)'s tests; all images unless --image)")
    .option('--image <ref>', 'search this image (repeatable)', collect, [])
    .option('--name <glob>', 'base name matches the shell pattern, as find -name')
    .option('--path <glob>', 'whole path (starting with /) matches the shell pattern, as find -path')
    .option('--type <t>', 'f, d, l, c, b or p, as find -type')
    .option('--size <n>', '[+|-]N[c|w|b|k|M|G], as find -size (default unit: 512-byte blocks, rounded up)')
    .option('--digest <sha256>', "regular files with this content (sha256, as sha256sum prints it)")
    .option('--format <format>', "'json' for one JSON object per line")
    .action(action(actions, 'runFind')));
};
