import type { Command } from 'commander';
import { socketPath } from '../../service/protocol.js';
import { serve } from '../../service/serve.js';
import type { Register } from './images.js';

/** `lamina serve`, and the global --socket the other commands use to find it. */
export const registerServeCommands: Register = (program: Command, action) => {
  program.option('--socket <path>', 'the service\'s Unix socket (env LAMINA_SOCKET, default /run/lamina/lamina.sock)');

  program.command('serve').description('Run the lamina service: keep mounts up, restore them after a restart, answer the CLI on a Unix socket')
    .option('--socket <path>', 'listen on this Unix socket')
    .option('--stop-timeout <seconds>', 'on SIGTERM, how long each mount may take to go', '10')
    .action(action(async (ctx, o: { socket?: string; stopTimeout: string }) => {
      const socket = socketPath(o.socket ?? program.opts().socket);
      const stopTimeoutMs = Number(o.stopTimeout) > 0 ? Number(o.stopTimeout) * 1000 : undefined;
      ctx.exitCode = await serve(await ctx.store(), { socket, stopTimeoutMs });
      return undefined;
    }));
};
