import type { Register } from '../register.js';

const actions = () => import('../actions/save.js');

export const registerSaveCommands: Register = (_program, action, define) => {
  define(['save', 'image save'], (c) => c.description('Save one or more images to a tar archive (streamed to STDOUT by default)')
    .argument('<image...>')
    .option('-o, --output <file>', 'write to FILE (or to directory DIR/ as an OCI layout) instead of STDOUT')
    .option('--format <format>', 'docker-archive (default; also an OCI layout, as docker 25+ writes), oci, or oci-dir')
    .action(action(actions, 'runSave')));

  define(['load', 'image load'], (c) => c.description('Load images from a docker-archive or OCI layout (tar or directory)')
    .option('-i, --input <file>', 'read from FILE instead of stdin')
    .option('-q, --quiet', 'suppress output')
    .action(action(actions, 'runLoad')));

  define(['import', 'image import'], (c) => c.description('Import the contents of a rootfs tarball to create an image')
    .argument('<file>', 'tarball (tar, tar.gz or tar.zst), or - for stdin')
    .argument('[reference]')
    .option('-m, --message <message>', 'commit message for the imported image')
    .action(action(actions, 'runImport')));
};
