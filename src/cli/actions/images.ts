import { imageSummaries } from '../../image/image-list.js';
import { IMAGE_FILTERS } from '../../image/image-filters.js';
import { parseFilters } from '../../image/filters.js';
import { pruneImages, removeImage, tagImage, type RemoveResult } from '../../image/images.js';
import { imageHistory } from '../../image/inspect.js';
import type { Context, Output } from '../context.js';
import { humanSize } from '../format.js';
import { HISTORY, historyFormat, historyRows } from '../format-history.js';
import { IMAGES, imageFormat, imageRows } from '../format-images.js';
import { parseFormat, renderRows } from '../format-write.js';
import { confirm } from '../prompt.js';

export const removedLines = (r: RemoveResult) => [...r.untagged.map((t) => `Untagged: ${t}`), ...r.deleted.map((d) => `Deleted: ${d}`)];

/** docker's "Deleted Images:" report and reclaimed-space line, shared with `system prune`. */
export function pruneReport(r: RemoveResult): string[] {
  const lines = r.untagged.map((t) => `untagged: ${t}`).concat(r.deleted.map((d) => `deleted: ${d}`));
  return lines.length ? ['Deleted Images:', ...lines, ''] : [];
}

export async function runImages(ctx: Context, repo: string | undefined,
  o: { all?: boolean; quiet?: boolean; digests?: boolean; trunc: boolean; filter: string[]; format?: string }): Promise<Output> {
  const format = imageFormat(o);
  parseFormat(format); // a bad template fails before the store is read
  const filters = new Map(parseFilters(o.filter, IMAGE_FILTERS));
  if (repo !== undefined) filters.set('reference', [...(filters.get('reference') ?? []), repo]);
  let images = await imageSummaries(await ctx.store(), filters);
  // docker hides untagged images unless asked for them (-a or --filter dangling=true)
  if (!o.all && !filters.get('dangling')?.some((d) => /^(true|1)$/i.test(d))) images = images.filter((i) => i.repoTags.length > 0);
  return renderRows(format, imageRows(images, { trunc: o.trunc, digests: !!o.digests, format }), IMAGES);
}

export async function runHistory(ctx: Context, name: string, o: { human: boolean; trunc: boolean; quiet?: boolean; format?: string }): Promise<Output> {
  const format = historyFormat(o);
  parseFormat(format);
  const rows = await imageHistory(await ctx.store(), name);
  return renderRows(format, historyRows(rows, o), HISTORY);
}

export async function runTag(ctx: Context, src: string, dst: string): Promise<Output> {
  tagImage(await ctx.store(), src, dst);
  return undefined;
}

export async function runRmi(ctx: Context, names: string[], o: { force?: boolean }): Promise<Output> {
  const store = await ctx.store();
  await ctx.each(names, async (n) => {
    for (const l of removedLines(await removeImage(store, n, !!o.force))) ctx.say(l);
  });
  return undefined;
}

export async function runImagePrune(ctx: Context, o: { all?: boolean; force?: boolean }): Promise<Output> {
  const warning = o.all ? 'WARNING! This will remove all images without at least one container associated to them.'
    : 'WARNING! This will remove all dangling images.';
  if (!o.force && !(await confirm(`${warning}\nAre you sure you want to continue?`))) {
    ctx.exitCode = 1; // docker: cancelled, silently, with status 1
    return undefined;
  }
  const r = await pruneImages(await ctx.store(), { all: !!o.all });
  return [...pruneReport(r), `Total reclaimed space: ${humanSize(r.bytes, 4)}`].join('\n');
}
