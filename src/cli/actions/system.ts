import { containerBytes } from '../../container/container-list.js';
import { imageDiskUsage } from '../../image/disk-usage.js';
import { imageSummaries } from '../../image/image-list.js';
import { collectGarbage, pruneImages } from '../../image/images.js';
import { layerUsage } from '../../image/layer-usage.js';
import { storeInfo } from '../../image/info.js';
import { serviceReport } from '../../service/client.js';
import type { Context, Output } from '../context.js';
import { humanSize } from '../format.js';
import { CONTAINERS, containerRows } from '../format-containers.js';
import { isUpState } from '../../container/container-index.js';
import { IMAGES, imageRows } from '../format-images.js';
import { asStruct } from '../format-values.js';
import { execute, parseFormat, renderRows, type Listing } from '../format-write.js';
import { VERSION } from '../version.js';
import { confirm } from '../prompt.js';
import { containerPruneReport, listContainers, pruneContainers } from './containers.js';
import { pruneReport } from './images.js';

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

const DF: Listing = {
  headers: { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' },
  table: 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}',
};
const DF_IMAGES = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}';
const DF_CONTAINERS = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}';

/** docker's df row: counts, size, and reclaimable bytes with their share of the size. */
function dfRow(type: string, total: number, active: number, size: number, reclaimable: number) {
  const r = humanSize(reclaimable, 4);
  return asStruct({ Active: String(active), Reclaimable: size > 0 ? `${r} (${Math.floor((reclaimable * 100) / size)}%)` : r,
    Size: humanSize(size, 4), TotalCount: String(total), Type: type }, 'diskUsage', { row: true });
}

export async function runInfo(ctx: Context, o: { format?: string }): Promise<Output> {
  const i = await storeInfo(await ctx.store());
  const service = await serviceReport(ctx.socketFlag, ctx.root);
  const listed = await listContainers(ctx);
  const running = listed.filter((l) => l.summary.state === 'running').length;
  const info = {
    Containers: listed.length, ContainersRunning: running, ContainersStopped: listed.length - running,
    Images: i.images, Layers: i.layers, Blobs: i.blobs, BytesOnDisk: i.bytesOnDisk, BytesSaved: i.bytesSaved,
    Staging: { Pulls: i.staging.pulls, Bytes: i.staging.bytes },
    Driver: 'lamina', DockerRootDir: i.root, ServerVersion: VERSION, Service: service.json,
  };
  if (o.format) return execute(parseFormat(o.format), info);
  return [
    `Store root: ${i.root}`, `Containers: ${listed.length} (running: ${running})`, `Images: ${i.images}`, `Layers: ${i.layers}`, `Blobs: ${i.blobs}`,
    `Disk usage: ${humanSize(i.bytesOnDisk)} (${i.bytesOnDisk} bytes)`,
    `Saved by layer sharing: ${humanSize(i.bytesSaved)} (${i.bytesSaved} bytes)`,
    `Staging: ${plural(i.staging.pulls, 'unfinished pull')}, ${humanSize(i.staging.bytes)} (${i.staging.bytes} bytes)`,
    ...service.lines,
  ].join('\n');
}

export async function runSystemDf(ctx: Context, o: { verbose?: boolean; format?: string }): Promise<Output> {
  const store = await ctx.store();
  const usage = layerUsage(store);
  const images = await imageSummaries(store, new Map(), usage);
  const listed = await listContainers(ctx);
  for (const l of listed) l.summary.sizeRw = await containerBytes(l.record);
  if (o.verbose && (!o.format || o.format === 'table')) {
    const imgs = renderRows(DF_IMAGES, imageRows(images, { trunc: true, digests: false, format: DF_IMAGES }), IMAGES);
    const ctrs = renderRows(DF_CONTAINERS, containerRows(listed.map((l) => l.summary), { trunc: true }), CONTAINERS);
    return `Images space usage:\n\n${imgs}\n\nContainers space usage:\n\n${ctrs}`;
  }
  const iu = imageDiskUsage(usage, images);
  const sizes = listed.map((l) => l.summary.sizeRw ?? 0);
  const stopped = listed.reduce((n, l, i) => n + (isUpState(l.summary.state) ? 0 : sizes[i]!), 0);
  const rows = [
    dfRow('Images', iu.total, iu.active, iu.size, iu.reclaimable),
    dfRow('Containers', listed.length, listed.filter((l) => isUpState(l.summary.state)).length, sizes.reduce((a, b) => a + b, 0), stopped),
  ];
  return renderRows(o.format || 'table', rows, DF);
}

export async function runSystemPrune(ctx: Context, o: { all?: boolean; force?: boolean }): Promise<Output> {
  const what = ['all stopped containers', o.all ? 'all images without at least one container associated to them' : 'all dangling images'];
  if (!o.force && !(await confirm(`WARNING! This will remove:\n${what.map((w) => `  - ${w}`).join('\n')}\n\nAre you sure you want to continue?`))) {
    ctx.exitCode = 1;
    return undefined;
  }
  const cr = await pruneContainers(ctx);
  const ir = await pruneImages(await ctx.store(), { all: !!o.all });
  return [...containerPruneReport(cr), ...pruneReport(ir), `Total reclaimed space: ${humanSize(cr.bytes + ir.bytes, 4)}`].join('\n');
}

export async function runGc(ctx: Context): Promise<Output> {
  const r = await collectGarbage(await ctx.store());
  const pulls = r.pulls.dirs ? [`Removed ${plural(r.pulls.dirs, 'unfinished pull')}, ${humanSize(r.pulls.bytes)}`] : [];
  return [`Removed ${r.removed.length} blobs, ${humanSize(r.bytes)}`, ...pulls].join('\n');
}
