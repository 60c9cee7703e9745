import type { Register } from '../register.js';

const actions = () => import('../actions/mount.js');

export const registerMountCommands: Register = (program, action) => {
  program.command('mount').description('Mount a container read-write, or an image (a new container, or --read-only the image itself)')
    .argument('<container-or-image>').argument('<dir>')
    .option('--read-only', 'mount the image itself, read-only')
    .action(action(actions, 'runMount'));

  program.command('umount').alias('unmount').description('Unmount a lamina mount and stop its server (the service forgets it)')
    .argument('<dir>')
    .action(action(actions, 'runUmount'));
};
