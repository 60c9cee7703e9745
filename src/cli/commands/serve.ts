import type { Command } from 'commander';
import type { Register } from '../register.js';

/** `lamina serve`, and the global --socket the other commands use to find it. */
export const registerServeCommands: Register = (program: Command, action) => {
  program.option('--socket <path>', 'the service\'s Unix socket (env LAMINA_SOCKET, default /run/lamina/lamina.sock)');

  program.command('serve').description('Run the lamina service: keep mounts up, restore them after a restart, answer the CLI on a Unix socket')
    .option('--socket <path>', 'listen on this Unix socket')
    .option('--stop-timeout <seconds>', 'on SIGTERM, how long each mount may take to go', '10')
    .action(action(() => import('../actions/serve.js'), 'runServe'));
};
