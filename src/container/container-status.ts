// A container's STATUS as docker's daemon words it (moby container/state.go), and go-units'
// HumanDuration it is made of.
import type { ContainerRecord } from './container-index.js';

/** docker's HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.round(ms / 3_600_000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(ms / 60_000);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** "Up 3 minutes", "Exited (2) 5 seconds ago", "Restarting (1) 2 seconds ago" or "Created". */
export function statusText(c: Pick<ContainerRecord, 'created' | 'run'>, now = Date.now()): string {
  const r = c.run;
  const ago = (iso?: string) => `${humanDuration(Math.max(0, now - Date.parse(iso ?? c.created)))} ago`;
  if (r.state === 'running') return `Up ${humanDuration(Math.max(0, now - Date.parse(r.startedAt ?? c.created)))}`;
  if (r.state === 'restarting') return `Restarting (${r.exitCode ?? 0}) ${ago(r.finishedAt)}`;
  if (r.state === 'exited' && r.finishedAt) return `Exited (${r.exitCode ?? 0}) ${ago(r.finishedAt)}`;
  return 'Created';
}
