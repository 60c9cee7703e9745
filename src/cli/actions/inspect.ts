import { inspectContainer } from '../../container/container-inspect.js';
import { summarizeContainer } from '../../container/container-list.js';
import { findContainer } from '../../container/containers.js';
import { inspectImage } from '../../image/inspect.js';
import { findImage } from '../../image/resolve.js';
import { serviceFor, serviceMounts } from '../../service/client.js';
import { containerNow } from '../../container/container-state.js';
import { ImgError, isNotFound } from '../../store/errors.js';
import type { Store } from '../../store/store.js';
import type { Context, Output } from '../context.js';
import { execute, parseFormat } from '../format-write.js';

type Kind = 'image' | 'container' | 'any';

async function containerObject(store: Store, socket: string | undefined, root: string, name: string): Promise<Record<string, unknown>> {
  const now = await containerNow(store, findContainer(store, name), await serviceMounts(await serviceFor(socket, root)));
  return inspectContainer(store, now.record, await summarizeContainer(store, now.record, now.mount));
}

/** docker inspect: every name looked up, each failure reported, the found objects printed together. */
async function inspectAll(ctx: Context, names: string[], kind: Kind, format?: string): Promise<string> {
  const tmpl = format && format !== 'json' ? parseFormat(format) : undefined;
  const store = await ctx.store();
  const objects: unknown[] = [];
  const lines: string[] = [];
  await ctx.each(names, async (n) => {
    const obj = await lookup(ctx, store, ctx.socketFlag, n, kind);
    // docker's TemplateInspector runs the template on the raw JSON with missingkey=error
    if (tmpl) lines.push(execute(tmpl, obj, { missingKey: 'error' }));
    else objects.push(obj);
  });
  if (tmpl) return lines.join('\n');
  return format === 'json' ? JSON.stringify(objects) : JSON.stringify(objects, null, 4);
}

/** An image or container by name; with `any`, a container wins over an image of the same name, as in docker. */
async function lookup(ctx: Context, store: Store, socket: string | undefined, n: string, kind: Kind): Promise<Record<string, unknown>> {
  if (kind === 'image' || (kind === 'any' && findImage(store, n) && !(await containerExists(store, n)))) return inspectImage(store, n);
  try {
    return await containerObject(store, socket, ctx.root, n);
  } catch (err) {
    if (kind === 'any' && isNotFound(err)) throw new ImgError('NOT_FOUND', `No such object: ${n}`);
    throw err;
  }
}

async function containerExists(store: Store, name: string): Promise<boolean> {
  try {
    findContainer(store, name);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

type Flags = { format?: string };
export const runInspect = (ctx: Context, names: string[], o: Flags): Promise<Output> => inspectAll(ctx, names, 'any', o.format);
export const runImageInspect = (ctx: Context, names: string[], o: Flags): Promise<Output> => inspectAll(ctx, names, 'image', o.format);
export const runContainerInspect = (ctx: Context, names: string[], o: Flags): Promise<Output> => inspectAll(ctx, names, 'container', o.format);
