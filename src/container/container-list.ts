/**
 * What `ps` lists about a container (docker's container.Summary) and docker's
 * ps filters over it. Whoever knows a container's state fills a summary; the
 * CLI formats it.
 */
import { anyOf, labelsMatch, type Filters } from '../image/filters.js';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { readConfig } from '../image/inspect.js';
import { ImgError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { isUpState, type ContainerRecord } from './container-index.js';
import { statusText } from './container-status.js';
import { displayPorts } from './ports.js';

/** docker's container states (the status filter accepts only these). */
export const CONTAINER_STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'] as const;
export type ContainerState = (typeof CONTAINER_STATES)[number];

export interface ContainerSummary {
  id: string;
  /** Names without docker's leading slash. */
  names: string[];
  /** The image as the user named it. */
  image: string;
  imageId: string;
  /** The command line, as docker shows it (entrypoint and cmd joined by spaces). */
  command: string;
  /** ISO 8601. */
  created: string;
  state: ContainerState;
  /** Human status: "Up 3 minutes", "Exited (2) 5 seconds ago", "Created". */
  status: string;
  exitCode?: number;
  /** docker's PORTS text: "0.0.0.0:8080->80/tcp". */
  ports?: string;
  labels?: Record<string, string>;
  /** Mount sources (host directories) of the container's volumes. */
  mounts?: string[];
  networks?: string[];
  /** Bytes in the writable layer, and of the image below it (ps --size). */
  sizeRw?: number;
  sizeRootFs?: number;
}

/** Which containers pass `filters`; `isAncestor(ref, imageId)` says whether image `imageId` is `ref` or built on it. */
export function filterContainers(list: ContainerSummary[], filters: Filters, isAncestor: (ref: string, imageId: string) => boolean): ContainerSummary[] {
  for (const s of filters.get('status') ?? []) {
    if (!(CONTAINER_STATES as readonly string[]).includes(s)) throw new ImgError('INVALID_ARGUMENT', `Invalid filter 'status=${s}'`);
  }
  const exited = (filters.get('exited') ?? []).map((v) => {
    if (!/^-?\d+$/.test(v)) throw new ImgError('INVALID_ARGUMENT', `Invalid filter 'exited=${v}'`);
    return Number(v);
  });
  const nameRe = (filters.get('name') ?? []).map((v) => {
    try {
      return new RegExp(v);
    } catch {
      throw new ImgError('INVALID_ARGUMENT', `Invalid filter 'name=${v}'`);
    }
  });
  return list.filter((c) =>
    anyOf(filters, 'id', (v) => c.id.startsWith(v))
    && (nameRe.length === 0 || nameRe.some((re) => c.names.some((n) => re.test(n))))
    && labelsMatch(filters, c.labels)
    && anyOf(filters, 'status', (v) => v === c.state)
    && (exited.length === 0 || (c.state === 'exited' && exited.includes(c.exitCode ?? -1)))
    && anyOf(filters, 'ancestor', (v) => isAncestor(v, c.imageId)));
}

/**
 * The summary of a container as its record says (the caller brings a record whose monitor died up
 * to date first). A container that does not run but is mounted (lamina mount) counts as running,
 * with "Mounted at DIR" as its status; ports show only while it runs, as in docker.
 */
export async function summarizeContainer(store: Store, c: ContainerRecord, mount: { dir: string; status: string } | undefined): Promise<ContainerSummary> {
  const cfg = await readConfig(store, c.imageId).then((x) => x.config, () => undefined);
  const argv = c.spec?.process.argv ?? [...(cfg?.Entrypoint ?? []), ...(cfg?.Cmd ?? [])];
  const up = isUpState(c.run.state);
  return {
    id: c.id, names: [c.name], image: c.imageRef, imageId: c.imageId, created: c.created, command: argv.join(' '),
    state: up ? c.run.state : mount ? 'running' : c.run.state, status: !up && mount ? mount.status : statusText(c),
    exitCode: c.run.exitCode, ports: up && c.spec ? displayPorts(c.spec.ports, c.spec.exposed) : '',
    labels: cfg?.Labels ?? {}, mounts: mount ? [mount.dir] : [],
  };
}

/** Bytes in a container's writable layer (its files as stored, hard links once). */
export async function containerBytes(c: ContainerRecord): Promise<number> {
  let total = 0;
  const seen = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(dir, e.name);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await walk(p);
      else if (!seen.has(`${st.dev}:${st.ino}`)) {
        seen.add(`${st.dev}:${st.ino}`);
        total += st.size;
      }
    }
  };
  await walk(c.upperDir);
  return total;
}
