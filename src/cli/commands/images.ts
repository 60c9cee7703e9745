import type { Command } from 'commander';
import { shortId } from '../../store/digest.js';
import { listImages, pruneImages, removeImage, tagImage, collectGarbage, type RemoveResult } from '../../image/images.js';
import { imageHistory, inspectImage } from '../../image/inspect.js';
import { importTarball, openInput } from '../../image/import.js';
import { load } from '../../image/load.js';
import { storeInfo } from '../../image/info.js';
import { serviceReport } from '../../service/route.js';
import { humanSize, since, table } from '../format.js';
import type { Context, Output } from '../context.js';

type Run = (ctx: Context, ...args: any[]) => Promise<Output>;
export type Register = (program: Command, action: (run: Run) => (...args: any[]) => Promise<void>) => void;

const removed = (r: RemoveResult) => [...r.untagged.map((t) => `Untagged: ${t}`), ...r.deleted.map((d) => `Deleted: ${d}`)];

export const registerImageCommands: Register = (program, action) => {
  program.command('images').description('List images')
    .argument('[repository]', 'only images of REPO[:TAG]')
    .option('-a, --all', 'show all images (default hides intermediate build images)')
    .option('-q, --quiet', 'only show image IDs')
    .option('--digests', 'show digests')
    .option('--no-trunc', "don't truncate output")
    .option('--format <format>', "'json' for one JSON object per line")
    .action(action(async (ctx, repo: string | undefined, o: { all?: boolean; quiet?: boolean; digests?: boolean; trunc: boolean; format?: string }) => {
      const rows = listImages(await ctx.store(), repo, !!o.all);
      const id = (d: string) => (o.trunc ? shortId(d as `sha256:${string}`) : d);
      if (o.quiet) return [...new Set(rows.map((r) => id(r.image.id)))].join('\n') || undefined;
      if (o.format === 'json') {
        return rows.map((r) => JSON.stringify({
          Repository: r.repository, Tag: r.tag, Digest: r.digest ?? '<none>', ID: id(r.image.id),
          CreatedAt: r.image.created ?? '', CreatedSince: since(r.image.created), Size: humanSize(r.image.size),
        })).join('\n') || undefined;
      }
      const header = ['REPOSITORY', 'TAG', ...(o.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
      return table(header, rows.map((r) => [r.repository, r.tag, ...(o.digests ? [r.digest ?? '<none>'] : []),
        id(r.image.id), since(r.image.created), humanSize(r.image.size)]));
    }));

  program.command('tag').description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
    .argument('<source>').argument('<target>')
    .action(action(async (ctx, src: string, dst: string) => {
      tagImage(await ctx.store(), src, dst);
      return undefined;
    }));

  program.command('rmi').description('Remove one or more images')
    .argument('<image...>')
    .option('-f, --force', 'force removal of the image')
    .action(action(async (ctx, names: string[], o: { force?: boolean }) => {
      const store = await ctx.store();
      const lines: string[] = [];
      for (const n of names) lines.push(...removed(await removeImage(store, n, !!o.force)));
      return lines.join('\n');
    }));

  const image = program.command('image').description('Manage images');
  image.command('prune').description('Remove untagged images')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(action(async (ctx) => {
      const r = await pruneImages(await ctx.store());
      return [...(r.deleted.length ? ['Deleted Images:', ...removed(r)] : []), `Total reclaimed images: ${r.deleted.length ? r.deleted.length : 0}`].join('\n');
    }));

  program.command('load').description('Load images from a docker-archive or OCI layout (tar or directory)')
    .option('-i, --input <file>', 'read from FILE instead of stdin')
    .option('-q, --quiet', 'suppress output')
    .action(action(async (ctx, o: { input?: string; quiet?: boolean }) => {
      if (!o.input && process.stdin.isTTY) throw new Error('requested load from stdin, but stdin is empty');
      const images = await load(await ctx.store(), o.input ?? process.stdin);
      if (o.quiet) return undefined;
      return images.flatMap((i) => (i.tags.length ? i.tags.map((t) => `Loaded image: ${familiarTag(t)}`) : [`Loaded image ID: ${i.id}`])).join('\n');
    }));

  program.command('import').description('Import the contents of a rootfs tarball to create an image')
    .argument('<file>', 'tarball (tar, tar.gz or tar.zst), or - for stdin')
    .argument('[reference]')
    .option('-m, --message <message>', 'commit message for the imported image')
    .action(action(async (ctx, file: string, ref: string | undefined, o: { message?: string }) => {
      const src = file === '-' ? process.stdin : await openInput(file);
      const r = await importTarball(await ctx.store(), src, { source: file, ref, message: o.message });
      return r.id;
    }));

  program.command('inspect').description('Show low-level information on images (JSON)')
    .argument('<image...>')
    .action(action(async (ctx, names: string[]) => {
      const store = await ctx.store();
      const out = [];
      for (const n of names) out.push(await inspectImage(store, n));
      return JSON.stringify(out, null, 4);
    }));

  program.command('history').description('Show the history of an image')
    .argument('<image>')
    .option('--no-trunc', "don't truncate output")
    .option('-q, --quiet', 'only show image IDs')
    .action(action(async (ctx, name: string, o: { trunc: boolean; quiet?: boolean }) => {
      const rows = await imageHistory(await ctx.store(), name);
      const id = (s: string) => (s.startsWith('sha256:') && o.trunc ? shortId(s as `sha256:${string}`) : s);
      if (o.quiet) return rows.map((r) => id(r.id)).join('\n');
      const cut = (s: string) => (o.trunc && s.length > 45 ? `${s.slice(0, 44)}…` : s);
      return table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows.map((r) => [
        id(r.id), since(r.entry.created), cut(r.entry.created_by ?? ''), humanSize(r.size), r.entry.comment ?? '',
      ]));
    }));

  program.command('gc').description('Remove blobs that no image or layer refers to')
    .action(action(async (ctx) => {
      const r = await collectGarbage(await ctx.store());
      return `Removed ${r.removed.length} blobs, ${humanSize(r.bytes)}`;
    }));

  program.command('info').description('Show store-wide information and the service\'s state')
    .option('--format <format>', "'json' for JSON")
    .action(action(async (ctx, o: { format?: string }) => {
      const i = await storeInfo(await ctx.store());
      const service = await serviceReport(program.opts().socket, ctx.root);
      if (o.format === 'json') return JSON.stringify({ ...i, service: service.json });
      return [
        `Store root: ${i.root}`, `Images: ${i.images}`, `Layers: ${i.layers}`, `Blobs: ${i.blobs}`,
        `Disk usage: ${humanSize(i.bytesOnDisk)} (${i.bytesOnDisk} bytes)`,
        `Saved by layer sharing: ${humanSize(i.bytesSaved)} (${i.bytesSaved} bytes)`,
        ...service.lines,
      ].join('\n');
    }));
};

function familiarTag(t: string): string {
  return t.replace(/^docker\.io\/(library\/)?/, '');
}
