import type { Register } from '../register.js';

export const registerFsckCommands: Register = (_program, action, define) => {
  define(['fsck', 'system fsck'], (c) => c.description('Check every blob against its digest and every index row against the blobs and rows it names')
    .option('--repair', 'fix what can be fixed without losing anything that still works')
    .action(action(() => import('../actions/fsck.js'), 'runFsck')));
};
