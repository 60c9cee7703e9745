import type Database from 'better-sqlite3';
import type { Digest } from '../store/types.js';
import type { RunSpec } from './run-spec.js';

/** docker's container states that lamina records (paused, removing and dead do not occur). */
export type ContainerState = 'created' | 'running' | 'restarting' | 'exited';

/** Whether a container in `state` counts as up: running, or between runs under its restart policy. */
export const isUpState = (state: string): boolean => state === 'running' || state === 'restarting';

/** The state of a container's process, as its monitor records it. */
export interface ContainerRun {
  state: ContainerState;
  /** Host PID of the container's first process, while it runs. */
  pid?: number;
  /** The monitor process supervising the container, while there is one. */
  monitorPid?: number;
  /** When it started (/proc/PID/stat's start time), which tells it from a later process with its PID. */
  monitorStart?: number;
  monitorSocket?: string;
  exitCode?: number;
  startedAt?: string;
  finishedAt?: string;
  restartCount: number;
  /** stop, kill or rm -f ended it: the restart policy does not apply. */
  stoppedByUser: boolean;
  /** Why the last start failed. */
  error?: string;
}

/** One container: an image plus a writable layer directory, and how it runs. */
export interface ContainerRecord {
  id: string;
  name: string;
  imageId: Digest;
  /** The image name it was created from, as given (docker's IMAGE column). */
  imageRef: string;
  created: string;
  upperDir: string;
  workDir: string;
  mountedAt?: string;
  /** Undefined for containers created before run specs were recorded. */
  spec?: RunSpec;
  run: ContainerRun;
}

type Row = Record<string, unknown>;
const opt = <T>(v: unknown): T | undefined => (v === null || v === undefined ? undefined : v as T);

const toRecord = (r: Row): ContainerRecord => ({
  id: r.id as string, name: r.name as string, imageId: r.image_id as Digest, imageRef: r.image_ref as string,
  created: r.created as string, upperDir: r.upper_dir as string, workDir: r.work_dir as string,
  mountedAt: opt(r.mounted_at), spec: r.spec ? JSON.parse(r.spec as string) as RunSpec : undefined,
  run: {
    state: r.state as ContainerState, pid: opt(r.pid), monitorPid: opt(r.monitor_pid), monitorStart: opt(r.monitor_start), monitorSocket: opt(r.monitor_socket),
    exitCode: opt(r.exit_code), startedAt: opt(r.started_at), finishedAt: opt(r.finished_at),
    restartCount: r.restart_count as number, stoppedByUser: r.stopped_by_user === 1, error: opt(r.error),
  },
});

const RUN_COLUMNS: Record<keyof ContainerRun, string> = {
  state: 'state', pid: 'pid', monitorPid: 'monitor_pid', monitorStart: 'monitor_start', monitorSocket: 'monitor_socket', exitCode: 'exit_code',
  startedAt: 'started_at', finishedAt: 'finished_at', restartCount: 'restart_count', stoppedByUser: 'stopped_by_user', error: 'error',
};

/** The containers table (migrations 3 and 5). */
export class ContainerIndex {
  private readonly q;

  constructor(private readonly db: Database.Database) {
    const s = (sql: string) => db.prepare(sql);
    this.q = {
      insert: s(`INSERT INTO containers (id, name, image_id, image_ref, created, upper_dir, work_dir, mounted_at, spec)
                 VALUES (@id, @name, @imageId, @imageRef, @created, @upperDir, @workDir, NULL, @spec)`),
      all: s('SELECT * FROM containers ORDER BY created DESC, id'),
      byId: s('SELECT * FROM containers WHERE id = ?'),
      byName: s('SELECT * FROM containers WHERE name = ?'),
      byPrefix: s("SELECT * FROM containers WHERE id >= ? AND id < ? || 'g'"),
      byMount: s('SELECT * FROM containers WHERE mounted_at = ?'),
      setMount: s('UPDATE containers SET mounted_at = ? WHERE id = ?'),
      setSpec: s('UPDATE containers SET spec = ? WHERE id = ?'),
      claim: s('UPDATE containers SET monitor_pid = ?, monitor_start = ?, monitor_socket = ? WHERE id = ? AND monitor_pid IS NULL'),
      remove: s('DELETE FROM containers WHERE id = ?'),
    };
  }

  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE): what it reads no other process changes before it writes. */
  exclusively<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  add(c: Omit<ContainerRecord, 'mountedAt' | 'run'>): void {
    this.q.insert.run({ ...c, spec: c.spec ? JSON.stringify(c.spec) : null });
  }

  list(): ContainerRecord[] {
    return (this.q.all.all() as Row[]).map(toRecord);
  }

  get(id: string): ContainerRecord | undefined {
    const r = this.q.byId.get(id) as Row | undefined;
    return r && toRecord(r);
  }

  /** By full ID, exact name, or unique ID prefix (docker's order). */
  find(s: string): ContainerRecord[] {
    const exact = (this.q.byId.get(s) ?? this.q.byName.get(s)) as Row | undefined;
    if (exact) return [toRecord(exact)];
    return /^[0-9a-f]+$/.test(s) ? (this.q.byPrefix.all(s, s) as Row[]).map(toRecord) : [];
  }

  byMount(dir: string): ContainerRecord | undefined {
    const r = this.q.byMount.get(dir) as Row | undefined;
    return r && toRecord(r);
  }

  setMount(id: string, dir: string | undefined): void {
    this.q.setMount.run(dir ?? null, id);
  }

  /** Replaces how the container runs (a build step runs its own command in it). */
  setSpec(id: string, spec: RunSpec): void {
    this.q.setSpec.run(JSON.stringify(spec), id);
  }

  /** Records a process as the container's monitor unless another one holds it; true if it was free. */
  claimMonitor(id: string, m: { pid: number; start: number; socket: string }): boolean {
    return this.q.claim.run(m.pid, m.start, m.socket, id).changes > 0;
  }

  /** Updates the given fields of a container's run state; `undefined` clears a field. */
  setRun(id: string, patch: Partial<ContainerRun>): void {
    const keys = Object.keys(patch) as Array<keyof ContainerRun>;
    if (!keys.length) return;
    const sql = `UPDATE containers SET ${keys.map((k) => `${RUN_COLUMNS[k]} = @${k}`).join(', ')} WHERE id = @id`;
    const values: Record<string, unknown> = { id };
    for (const k of keys) values[k] = typeof patch[k] === 'boolean' ? (patch[k] ? 1 : 0) : (patch[k] ?? null);
    this.db.prepare(sql).run(values);
  }

  remove(id: string): boolean {
    return this.q.remove.run(id).changes > 0;
  }
}
