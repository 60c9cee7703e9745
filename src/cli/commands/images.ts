import type { Command } from 'commander';
import { imageSummaries } from '../../image/image-list.js';
import { IMAGE_FILTERS } from '../../image/image-filters.js';
import { parseFilters } from '../../image/filters.js';
import { pruneImages, removeImage, tagImage, type RemoveResult } from '../../image/images.js';
import { imageHistory } from '../../image/inspect.js';
import { humanSize } from '../format.js';
import { HISTORY, historyFormat, historyRows } from '../format-history.js';
import { IMAGES, imageFormat, imageRows } from '../format-images.js';
import { parseFormat, renderRows } from '../format-write.js';
import { confirm } from '../prompt.js';
import { collect, type Register } from '../register.js';

export type { Register } from '../register.js';

const FORMAT_HELP = "'table', 'table TEMPLATE', 'json' or a Go TEMPLATE (see docs.docker.com/go/formatting)";

export const removedLines = (r: RemoveResult) => [...r.untagged.map((t) => `Untagged: ${t}`), ...r.deleted.map((d) => `Deleted: ${d}`)];

/** docker's "Deleted Images:" report and reclaimed-space line, shared with `system prune`. */
export function pruneReport(r: RemoveResult): string[] {
  const lines = r.untagged.map((t) => `untagged: ${t}`).concat(r.deleted.map((d) => `deleted: ${d}`));
  return lines.length ? ['Deleted Images:', ...lines, ''] : [];
}

export const registerImageCommands: Register = (program: Command, action, define) => {
  define(['images', 'image ls|list'], (c) => c.description('List images')
    .argument('[repository]', 'only images of REPOSITORY[:TAG] (a pattern, as --filter reference=)')
    .option('-a, --all', 'show all images (default hides dangling images)')
    .option('-q, --quiet', 'only show image IDs')
    .option('--digests', 'show digests')
    .option('--no-trunc', "don't truncate output")
    .option('-f, --filter <key=value>', `filter output (${IMAGE_FILTERS.join(', ')}); repeatable`, collect, [])
    .option('--format <format>', FORMAT_HELP)
    .action(action(async (ctx, repo: string | undefined, o: { all?: boolean; quiet?: boolean; digests?: boolean; trunc: boolean; filter: string[]; format?: string }) => {
      const format = imageFormat(o);
      parseFormat(format); // a bad template fails before the store is read
      const filters = new Map(parseFilters(o.filter, IMAGE_FILTERS));
      if (repo !== undefined) filters.set('reference', [...(filters.get('reference') ?? []), repo]);
      let images = await imageSummaries(await ctx.store(), filters);
      // docker hides untagged images unless asked for them (-a or --filter dangling=true)
      if (!o.all && !filters.get('dangling')?.some((d) => /^(true|1)$/i.test(d))) images = images.filter((i) => i.repoTags.length > 0);
      return renderRows(format, imageRows(images, { trunc: o.trunc, digests: !!o.digests, format }), IMAGES);
    })));

  define(['history', 'image history'], (c) => c.description('Show the history of an image')
    .argument('<image>')
    .option('-H, --human', 'print sizes and dates in human readable format (default; -H=false or --no-human for bytes and RFC 3339 dates)', true)
    .option('--no-human')
    .option('--no-trunc', "don't truncate output")
    .option('-q, --quiet', 'only show image IDs')
    .option('--format <format>', FORMAT_HELP)
    .action(action(async (ctx, name: string, o: { human: boolean; trunc: boolean; quiet?: boolean; format?: string }) => {
      const format = historyFormat(o);
      parseFormat(format);
      const rows = await imageHistory(await ctx.store(), name);
      return renderRows(format, historyRows(rows, o), HISTORY);
    })));

  define(['tag', 'image tag'], (c) => c.description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
    .argument('<source>').argument('<target>')
    .action(action(async (ctx, src: string, dst: string) => {
      tagImage(await ctx.store(), src, dst);
      return undefined;
    })));

  define(['rmi', 'image rm|remove'], (c) => c.description('Remove one or more images (each one reported; exits 1 if any failed)')
    .argument('<image...>')
    .option('-f, --force', 'force removal of the image')
    .action(action(async (ctx, names: string[], o: { force?: boolean }) => {
      const store = await ctx.store();
      await ctx.each(names, async (n) => {
        for (const l of removedLines(await removeImage(store, n, !!o.force))) ctx.say(l);
      });
      return undefined;
    })));

  define(['image prune'], (c) => c.description('Remove unused images: untagged ones that no digest names (all unused with -a)')
    .option('-a, --all', 'remove all images no container uses, not just dangling ones')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(action(async (ctx, o: { all?: boolean; force?: boolean }) => {
      const warning = o.all ? 'WARNING! This will remove all images without at least one container associated to them.'
        : 'WARNING! This will remove all dangling images.';
      if (!o.force && !(await confirm(`${warning}\nAre you sure you want to continue?`))) {
        ctx.exitCode = 1; // docker: cancelled, silently, with status 1
        return undefined;
      }
      const r = await pruneImages(await ctx.store(), { all: !!o.all });
      return [...pruneReport(r), `Total reclaimed space: ${humanSize(r.bytes, 4)}`].join('\n');
    })));
};
