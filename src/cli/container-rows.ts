// `ps` rows as docker's formatter builds them (cli/command/formatter/container.go): plain objects
// with docker's field names, rendered as a table here and by any other formatter.
import type { ContainerRecord, ContainerState } from '../container/container-index.js';
import type { RunSpec } from '../container/run-spec.js';
import { displayPorts } from '../run/ports.js';
import { humanDuration, since } from './format.js';

export interface ContainerRow {
  ID: string;
  Image: string;
  Command: string;
  CreatedAt: string;
  RunningFor: string;
  Ports: string;
  State: ContainerState;
  Status: string;
  Names: string;
  /** Where the container is mounted, if it is. */
  Mounts: string;
}

/** docker's Ellipsis: at most `max` characters, the last one "…" when cut. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}

/** docker's State.String(): "Up 3 minutes", "Exited (2) 5 seconds ago", "Restarting (1) 2 seconds ago", "Created". */
export function statusText(c: ContainerRecord, now = Date.now()): string {
  const r = c.run;
  const ago = (iso?: string) => (iso ? `${humanDuration(Math.max(0, now - Date.parse(iso)))} ago` : '');
  if (r.state === 'running') return `Up ${humanDuration(Math.max(0, now - Date.parse(r.startedAt ?? c.created)))}`;
  if (r.state === 'restarting') return `Restarting (${r.exitCode ?? 0}) ${ago(r.finishedAt)}`;
  if (r.state === 'exited' && r.finishedAt) return `Exited (${r.exitCode ?? 0}) ${ago(r.finishedAt)}`;
  return 'Created';
}

/** Created "2026-12-05 17:45:08 +0000 UTC", as Go prints a time. */
function goTime(iso: string): string {
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

/** One `ps` row; `mount` is where the container is mounted (its status while it does not run). */
export function containerRow(c: ContainerRecord, spec: RunSpec, mount: string | undefined, o: { trunc: boolean }): ContainerRow {
  const up = c.run.state === 'running' || c.run.state === 'restarting';
  const command = spec.process.argv.join(' ');
  return {
    ID: o.trunc ? c.id.slice(0, 12) : c.id,
    Image: c.imageRef,
    Command: JSON.stringify(o.trunc ? ellipsis(command, 20) : command),
    CreatedAt: goTime(c.created),
    RunningFor: since(c.created),
    Ports: up ? displayPorts(spec.ports, spec.exposed) : '',
    State: c.run.state,
    Status: !up && mount ? `Mounted at ${mount}` : statusText(c),
    Names: c.name,
    Mounts: mount ?? '',
  };
}
