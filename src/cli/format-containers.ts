/**
 * `ps` rows as docker's formatter builds them (cli/command/formatter/container.go).
 */
import type { ContainerSummary } from '../container/container-list.js';
import { formatReference, parseReference } from '../image/reference.js';
import { ellipsis, goTime, humanSize, since, truncateId } from './format.js';
import { goQuote } from './format-printf.js';
import type { Listing } from './format-write.js';
import { asStruct } from './format-values.js';

export const CONTAINERS: Listing = {
  headers: { ID: 'CONTAINER ID', Names: 'NAMES', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED',
    Ports: 'PORTS', State: 'STATE', Status: 'STATUS', Size: 'SIZE', Labels: 'LABELS', Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES',
    Networks: 'NETWORKS', Platform: 'PLATFORM', HealthStatus: 'HEALTH STATUS' },
  table: 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}',
};

/** docker's NewContainerFormat: -q wins over any template; --size adds a column to the default table. */
export function containerFormat(o: { format?: string; quiet?: boolean; size?: boolean }): string {
  const f = o.format || 'table';
  if (o.quiet) return '{{.ID}}';
  return f === 'table' ? `${CONTAINERS.table}${o.size ? '\t{{.Size}}' : ''}` : f;
}

/** docker's Image(): a familiar name without its digest when truncating, a short ID for an image named by ID. */
function imageName(c: ContainerSummary, trunc: boolean): string {
  if (!c.image) return '<no image>';
  if (!trunc) return c.image;
  if (truncateId(c.imageId) === truncateId(c.image)) return truncateId(c.image);
  try {
    const r = parseReference(c.image);
    return formatReference({ registry: r.registry, repository: r.repository, tag: r.tag }, { familiar: true });
  } catch {
    return c.image;
  }
}

export function containerRows(list: ContainerSummary[], o: { trunc: boolean }): object[] {
  return list.map((c) => {
    const labels = c.labels ?? {};
    return asStruct({
      Command: goQuote(o.trunc ? ellipsis(c.command, 20) : c.command),
      CreatedAt: goTime(c.created),
      HealthStatus: '',
      ID: o.trunc ? truncateId(c.id) : c.id,
      Image: imageName(c, o.trunc),
      Labels: Object.entries(labels).map(([k, v]) => `${k}=${v}`).sort().join(','),
      LocalVolumes: String(c.mounts?.length ?? 0),
      Mounts: (c.mounts ?? []).map((m) => (o.trunc ? ellipsis(m, 15) : m)).join(','),
      Names: o.trunc ? (c.names.find((n) => !n.includes('/')) ?? '') : c.names.join(','),
      Networks: (c.networks ?? []).join(','),
      Platform: null,
      Ports: c.ports ?? '',
      RunningFor: since(c.created),
      Size: `${humanSize(c.sizeRw ?? 0)}${c.sizeRootFs ? ` (virtual ${humanSize(c.sizeRootFs)})` : ''}`,
      State: c.state,
      Status: c.status,
      Label: (name: unknown) => labels[String(name)] ?? '',
    }, 'container', { row: true });
  });
}
