import type { Command } from 'commander';
import type { Register } from '../register.js';

const FORMAT_HELP = "'json' (compact), or a Go TEMPLATE run on each object (default: indented JSON array)";
const actions = () => import('../actions/inspect.js');

export const registerInspectCommands: Register = (_program, action, define) => {
  const forKind = (run: 'runInspect' | 'runImageInspect' | 'runContainerInspect', what: string) => (c: Command) => c
    .description(`Display detailed information on one or more ${what} (JSON)`)
    .argument(`<name...>`)
    .option('-f, --format <format>', FORMAT_HELP)
    .action(action(actions, run));
  define(['inspect'], forKind('runInspect', 'images or containers'));
  define(['image inspect'], forKind('runImageInspect', 'images'));
  define(['container inspect'], forKind('runContainerInspect', 'containers'));
};
