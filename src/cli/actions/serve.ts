import { socketPath } from '../../service/protocol.js';
import { serve } from '../../service/serve.js';
import type { Context, Output } from '../context.js';

export async function runServe(ctx: Context, o: { socket?: string; stopTimeout: string }): Promise<Output> {
  const socket = socketPath(o.socket ?? ctx.socketFlag);
  const stopTimeoutMs = Number(o.stopTimeout) > 0 ? Number(o.stopTimeout) * 1000 : undefined;
  ctx.exitCode = await serve(await ctx.store(), { socket, stopTimeoutMs });
  return undefined;
}
