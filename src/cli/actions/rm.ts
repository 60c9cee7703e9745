// rm, apart from ps and prune (containers.ts): only rm loads what stops and unmounts containers.
import { containers, findContainer, removeContainer } from '../../container/containers.js';
import { containerNow } from '../../container/container-state.js';
import { stopForRemoval } from '../../run/lifecycle.js';
import { serviceFor, serviceMounts } from '../../service/client.js';
import { unmountVia } from '../../service/route.js';
import { ImgError } from '../../store/errors.js';
import type { Context, Output } from '../context.js';

export async function runRm(ctx: Context, names: string[], o: { force?: boolean }): Promise<Output> {
  const store = await ctx.store();
  const svc = await serviceFor(ctx.socketFlag, ctx.root);
  const kept = await serviceMounts(svc);
  await ctx.each(names, async (n) => {
    const before = await containerNow(store, findContainer(store, n), kept);
    if (before.record.run.monitorPid) await stopForRemoval(store, n, !!o.force);
    const c = containers(store).get(before.record.id); // gone when it was run with --rm
    const at = c && (await containerNow(store, c, kept)).mount?.dir;
    if (at && !o.force) {
      throw new ImgError('FAILED_PRECONDITION', `cannot remove container ${c.id.slice(0, 12)}: it is mounted at ${at}`,
        { hint: `unmount it first (\`lamina umount ${at}\`) or use rm -f` });
    }
    if (at) await unmountVia(svc, store, at);
    if (c) await removeContainer(store, c);
    ctx.say(n);
  });
  return undefined;
}
