import { shortId } from '../../store/digest.js';
import { findPaths, type Found } from '../../image/find.js';
import { layerReport } from '../../image/layer-report.js';
import { whichPaths, type WhichAnswer } from '../../image/which.js';
import type { Context, Output } from '../context.js';
import { humanSize, since, table } from '../format.js';

const jsonLines = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') || undefined;
const layerList = (ls: Array<{ layer: number }>) => `layer${ls.length === 1 ? '' : 's'} ${ls.map((l) => l.layer).join(', ')}`;

/** One line per path: `/etc/hostname: layer 3 (file), shadows layers 2, 1`. */
function whichLine(a: WhichAnswer): string {
  if (a.status === 'absent') return `${a.path}: in no layer`;
  const below = a.below.length ? `, ${a.status === 'deleted' ? 'hiding' : 'shadows'} ${layerList(a.below)}` : '';
  if (a.status === 'deleted') return `${a.path}: deleted by layer ${a.by!.layer} (${a.reason})${below}`;
  if (a.implicit) return `${a.path}: implicit directory${a.history.length ? ` (made by layer ${a.history.at(-1)!.layer})` : ''}${below}`;
  return `${a.path}: layer ${a.by!.layer} (${a.hardlinkTo ? `hardlink to ${a.hardlinkTo}` : a.type})${below}`;
}

const foundJson = (f: Found) => ({
  Image: f.image, ImageID: f.imageId, Path: f.path, Type: f.type, Size: f.size, Mode: `0${f.mode.toString(8)}`,
  Uid: f.uid, Gid: f.gid, Layer: f.layer ?? null, DiffID: f.diffId ?? null, Digest: f.digest ?? null,
});

export async function runLayers(ctx: Context, ref: string, o: { trunc: boolean; format?: string }): Promise<Output> {
  const { layers } = await layerReport(await ctx.store(), ref);
  if (o.format === 'json') {
    return jsonLines(layers.map((l) => ({
      Layer: l.index, DiffID: l.diffId, Digest: l.digest, Size: l.size, CreatedAt: l.history.created ?? '',
      CreatedBy: l.history.created_by ?? '', Comment: l.history.comment ?? '', Added: l.added, Changed: l.changed, Deleted: l.deleted,
    })));
  }
  const cut = (s: string) => (o.trunc && s.length > 45 ? `${s.slice(0, 44)}…` : s);
  return table(['LAYER', 'DIFF ID', 'CREATED', 'CREATED BY', 'SIZE', 'ADDED', 'CHANGED', 'DELETED', 'COMMENT'], layers.map((l) => [
    String(l.index), o.trunc ? shortId(l.diffId) : l.diffId, since(l.history.created), cut(l.history.created_by ?? ''),
    humanSize(l.size), String(l.added), String(l.changed), String(l.deleted), l.history.comment ?? '',
  ]));
}

export async function runWhich(ctx: Context, ref: string, paths: string[], o: { format?: string }): Promise<Output> {
  const answers = whichPaths(await ctx.store(), ref, paths);
  if (answers.some((a) => a.status === 'absent')) ctx.exitCode = 1;
  return o.format === 'json' ? jsonLines(answers) : answers.map(whichLine).join('\n');
}

export async function runFind(ctx: Context,
  o: { image: string[]; name?: string; path?: string; type?: string; size?: string; digest?: string; format?: string }): Promise<Output> {
  const onHashing = (layers: number, bytes: number) =>
    process.stderr.write(`hashing the files of ${layers} layer${layers === 1 ? '' : 's'} (${humanSize(bytes)}) once\n`);
  const found = await findPaths(await ctx.store(), { ...o, images: o.image, onHashing });
  if (o.format === 'json') return jsonLines(found.map(foundJson));
  return found.map((f) => (o.image.length === 1 ? f.path : `${f.image} ${f.path}`)).join('\n') || undefined;
}
