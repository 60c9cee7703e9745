import { containerDiff } from '../../container/upper/diff.js';
import { containers, findContainer } from '../../container/containers.js';
import { diffImages, diffLayer } from '../../image/image-diff.js';
import { imageView } from '../../image/image-view.js';
import { findImage } from '../../image/resolve.js';
import { ImgError } from '../../store/errors.js';
import type { Store } from '../../store/store.js';
import type { Context, Output } from '../context.js';

interface Listed {
  kind: string;
  path: string;
}

/** One argument without --layer: a container, as docker diff has it; an image alone is an error that says what to add. */
async function containerChanges(store: Store, name: string): Promise<Listed[]> {
  if (containers(store).find(name).length === 0 && findImage(store, name)) {
    throw new ImgError('INVALID_ARGUMENT', `${name} is an image, not a container`,
      { hint: `compare it with another image (lamina diff ${name} IMAGE) or show one layer (lamina diff ${name} --layer N)` });
  }
  const c = findContainer(store, name);
  return containerDiff(imageView(store, c.imageId), c.upperDir, c.workDir);
}

export async function runDiff(ctx: Context, first: string, second: string | undefined, o: { layer?: string; format?: string }): Promise<Output> {
  const store = await ctx.store();
  if (o.layer !== undefined && second !== undefined) {
    throw new ImgError('INVALID_ARGUMENT', 'diff: give either a second image or --layer, not both');
  }
  if (o.layer !== undefined && !/^\d+$/.test(o.layer)) {
    throw new ImgError('INVALID_ARGUMENT', `--layer ${JSON.stringify(o.layer)}: want a layer number (1 = base)`);
  }
  const changes: Listed[] = o.layer !== undefined ? diffLayer(store, first, Number(o.layer))
    : second !== undefined ? await diffImages(store, first, second) : await containerChanges(store, first);
  if (o.format === 'json') return changes.map((c) => JSON.stringify({ Kind: c.kind, Path: c.path })).join('\n') || undefined;
  return changes.map((c) => `${c.kind} ${c.path}`).join('\n') || undefined;
}
