import type { ChildProcess } from 'node:child_process';
import { cleanupDeadMount, startMountServer, unmount } from '../fuse/mount-process.js';
import type { FuseMountOpts } from '../fuse/mount-options.js';
import { isServerFor } from '../fuse/mount-state.js';
import type { MountSpec } from '../fuse/mount-state.js';
import { isNotFound, messageOf } from '../store/errors.js';
import { logEvent } from './log.js';
import type { MountIntent } from '../container/mount-intents.js';
import type { MountState, MountStatus } from './protocol.js';

/** What a worker serves, derived from its intent each time it starts. */
export interface MountTarget {
  spec: MountSpec;
  fuse: FuseMountOpts;
}

/** What a Worker needs from its supervisor. */
export interface WorkerHost {
  runDir: string;
  /** The spec and options to start with; throws when the mount can no longer be served. */
  target(intent: MountIntent): MountTarget;
  /** Whether the mount is still wanted (its intent is still recorded); checked before each restart. */
  wanted(intent: MountIntent): boolean;
  /** Called whenever a worker's mount answers. */
  up(w: Worker): void;
  /** Called when the worker gives its mount up for good (no longer wanted). */
  gone(w: Worker): void;
}

/** How often an adopted worker (not our child: no exit event) is checked. */
const ADOPTED_POLL_MS = 200;
/** A worker that lived at least this long restarts at once ... */
const STABLE_MS = 5000;
/** ... and so do the first quicker deaths in a row; after them, restarts back off (a crash loop). */
const QUICK_RESTARTS = 3;
const MAX_BACKOFF_MS = 30_000;

/**
 * One supervised mount: starts its server as a child, replaces it when it dies (after clearing
 * the dead ENOTCONN mount), and stops it on request. A server left by an earlier service can be
 * adopted; it is then watched by polling /proc, since only a parent gets exit events.
 */
export class Worker {
  state: MountState = 'starting';
  pid?: number;
  restarts = 0;
  since = new Date().toISOString();
  error?: string;
  private child?: ChildProcess;
  private upAt = 0;
  private streak = 0;
  private stopping = false;
  private launching = false;
  private busy?: Promise<void>;
  private timer?: NodeJS.Timeout;

  constructor(readonly intent: MountIntent, private readonly host: WorkerHost) {}

  get dir(): string {
    return this.intent.dir;
  }

  /** Starts the first worker; resolves when the mount answers. */
  start(): Promise<void> {
    return this.track(this.launch());
  }

  /** Starts the first worker in the background, retrying with back-off until it mounts. */
  startInBackground(): void {
    void this.track(this.launch().catch((err: unknown) => this.failed(err)));
  }

  /** Takes over the running server `pid` of an earlier service. */
  adopt(pid: number): void {
    this.pid = pid;
    this.markUp();
    logEvent('adopt', { dir: this.dir, pid });
    const poll = () => void isServerFor(pid, this.dir).then((alive) => {
      if (this.pid !== pid || this.stopping) return;
      if (alive) this.timer = setTimeout(poll, ADOPTED_POLL_MS);
      else this.exited(pid, { adopted: true });
    });
    this.timer = setTimeout(poll, ADOPTED_POLL_MS);
  }

  /** Stops the worker and unmounts; nothing is restarted afterwards. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.busy?.catch(() => undefined); // a start or restart in progress finishes first
    try {
      await unmount(this.dir, { runDir: this.host.runDir, timeoutMs });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    } finally {
      if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
      this.pid = undefined;
    }
    logEvent('unmount', { dir: this.dir });
  }

  status(): MountStatus {
    const { dir, imageId, containerId, readOnly } = this.intent;
    return { dir, state: this.state, imageId, containerId, readOnly, pid: this.pid, restarts: this.restarts, since: this.since,
      error: this.error };
  }

  private setState(s: MountState): void {
    if (s !== this.state) this.since = new Date().toISOString();
    this.state = s;
  }

  private markUp(): void {
    this.upAt = Date.now();
    this.error = undefined;
    this.setState('mounted');
    this.host.up(this);
  }

  /** Remembers the operation in progress, so stop() can wait for it. */
  private track(p: Promise<void>): Promise<void> {
    const tracked = p.finally(() => {
      if (this.busy === tracked) this.busy = undefined;
    });
    this.busy = tracked;
    return tracked;
  }

  private async launch(): Promise<void> {
    const t = this.host.target(this.intent);
    let child: ChildProcess | undefined;
    this.launching = true;
    let rec;
    try {
      rec = await startMountServer(this.dir, t.spec, t.fuse, { runDir: this.host.runDir, onChild: (c) => {
        child = c;
        c.on('error', (err) => logEvent('error', { dir: this.dir, error: messageOf(err) }, 'error'));
        c.on('exit', (code, signal) => this.exited(c.pid!, { code, signal }));
      } });
    } finally {
      this.launching = false;
    }
    this.child = child;
    this.pid = rec.pid;
    this.markUp();
    logEvent('mount', { dir: this.dir, pid: rec.pid, kind: t.spec.kind, container: this.intent.containerId });
    // it may have died between answering and now: its exit event was ignored while launching
    if (child && (child.exitCode !== null || child.signalCode !== null)) this.exited(rec.pid, { code: child.exitCode, signal: child.signalCode });
  }

  private exited(pid: number, how: Record<string, unknown>): void {
    if (this.stopping || this.launching || pid !== this.pid) return;
    const lived = Date.now() - this.upAt;
    logEvent('worker-exit', { dir: this.dir, pid, ...how, livedMs: lived }, 'warn');
    this.pid = undefined;
    this.child = undefined;
    this.streak = lived >= STABLE_MS ? 0 : this.streak + 1;
    this.restartAfter(this.streak <= QUICK_RESTARTS ? 0 : this.backoff());
  }

  /** 0.5 s, doubling up to 30 s, as quick deaths (or failed starts) go on. */
  private backoff(): number {
    return Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.max(0, this.streak - QUICK_RESTARTS - 1));
  }

  private failed(err: unknown): void {
    if (this.stopping) return;
    this.error = messageOf(err);
    this.setState('failed');
    this.streak++;
    const delay = this.backoff();
    logEvent('error', { dir: this.dir, error: this.error, retryInMs: delay }, 'error');
    this.restartAfter(delay);
  }

  private restartAfter(delayMs: number): void {
    if (this.state === 'mounted') this.setState('restarting');
    this.timer = setTimeout(() => void this.track(this.restart()), delayMs);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    const t0 = Date.now();
    try {
      if (!this.host.wanted(this.intent)) {
        this.stopping = true;
        await cleanupDeadMount(this.dir, { runDir: this.host.runDir }).catch(() => false);
        logEvent('cleanup', { dir: this.dir, why: 'mount no longer recorded' });
        this.host.gone(this);
        return;
      }
      this.restarts++;
      if (await cleanupDeadMount(this.dir, { runDir: this.host.runDir })) logEvent('cleanup', { dir: this.dir, why: 'dead mount' });
      if (this.stopping) return;
      await this.launch();
      logEvent('restart', { dir: this.dir, pid: this.pid, restarts: this.restarts, tookMs: Date.now() - t0 });
    } catch (err) {
      this.failed(err);
    }
  }
}
