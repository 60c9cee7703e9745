import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { containerMount, imageMount, liveMount, unmountDir } from '../container/container-mounts.js';
import { canonicalDir } from '../fuse/mountinfo.js';
import { cleanupDeadMount } from '../fuse/mount-process.js';
import { isServerFor, readRecord, removeRecord, type MountRecord } from '../fuse/mount-state.js';
import { ensureViewFile } from '../image/image-view.js';
import { ImgError, messageOf } from '../store/errors.js';
import { createContainer, findContainer } from '../container/containers.js';
import { resolveImage } from '../image/resolve.js';
import type { Store } from '../store/store.js';
import { logEvent } from './log.js';
import { mountIntents, markMounted } from '../container/container-state.js';
import type { MountIntent, MountIntents } from '../container/mount-intents.js';
import type { MountRequest, MountResult, MountStatus } from './protocol.js';
import { Worker, type MountTarget, type WorkerHost } from './worker.js';

/**
 * Owns every mount the service keeps: one Worker per mountpoint, each mount's intent in the
 * index (so a restarted service brings it back), and containers' mounted_at while it is up.
 */
export class Supervisor implements WorkerHost {
  private readonly workers = new Map<string, Worker>();
  /** Mountpoints of requests still being checked. */
  private readonly pending = new Set<string>();
  private readonly intents: MountIntents;
  private closing = false;

  constructor(private readonly store: Store, readonly runDir: string) {
    this.intents = mountIntents(store);
  }

  /**
   * Brings back every recorded mount: clears dead mounts left by workers that died, adopts
   * workers of an earlier service that still serve what is recorded, and starts the rest.
   */
  async restore(): Promise<void> {
    await this.clearDeadRecords();
    for (const intent of this.intents.list()) {
      const w = new Worker(intent, this);
      this.workers.set(intent.dir, w);
      const rec = await readRecord(this.runDir, intent.dir).catch(() => undefined);
      if (rec && (await isServerFor(rec.pid, intent.dir)) && this.serves(rec, intent)) w.adopt(rec.pid);
      else w.startInBackground();
    }
  }

  /** Mounts what `req` names and resolves once it answers; the mount is recorded so that it is kept. */
  async mount(req: MountRequest): Promise<MountResult> {
    if (this.closing) throw new ImgError('UNAVAILABLE', 'the service is stopping');
    const dir = await canonicalDir(req.dir).catch((err: unknown) => {
      throw err instanceof ImgError ? err : new ImgError('INVALID_ARGUMENT', `mountpoint ${req.dir}: ${messageOf(err)}`);
    });
    if (this.workers.has(dir) || this.pending.has(dir)) {
      throw new ImgError('ALREADY_EXISTS', `${dir} is already mounted`, { hint: `run \`lamina umount ${dir}\` first` });
    }
    this.pending.add(dir); // taken until the worker is registered: a second request must not create a container first
    let intent: MountIntent;
    let created: boolean;
    try {
      await checkMountpoint(dir);
      ({ intent, created } = await this.intentFor(req, dir));
      this.addIntent(intent);
    } finally {
      this.pending.delete(dir);
    }
    const w = new Worker(intent, this);
    this.workers.set(dir, w);
    try {
      await w.start();
    } catch (err) {
      this.workers.delete(dir);
      this.intents.remove(dir);
      throw err;
    }
    if (this.closing) { // shutdown() did not see this worker: stop it here, keeping its intent
      await w.stop(10_000).finally(() => this.workers.delete(dir));
      throw new ImgError('UNAVAILABLE', `the service is stopping; ${dir} will be mounted again when it starts`);
    }
    return { mount: w.status(), created };
  }

  /** Unmounts `dir` and forgets it; a mount the service does not keep is unmounted directly. */
  async unmount(dir: string): Promise<void> {
    const target = await canonicalDir(dir).catch(() => path.resolve(dir));
    const w = this.workers.get(target);
    this.intents.remove(target); // first: a worker dying now must not be replaced
    if (!w) return unmountDir(this.store, target);
    await w.stop(15_000);
    this.workers.delete(target);
    if (w.intent.containerId) markMounted(this.store, w.intent.containerId, undefined);
  }

  list(): MountStatus[] {
    return [...this.workers.values()].map((w) => w.status());
  }

  /**
   * Unmounts everything, keeping the intents so the next start restores them; containers'
   * mounted_at is cleared, as nothing is mounted any more. Resolves false if a mount would not go.
   */
  async shutdown(timeoutMs: number): Promise<boolean> {
    this.closing = true;
    const results = await Promise.allSettled([...this.workers.values()].map(async (w) => {
      try {
        await w.stop(timeoutMs);
      } catch (err) {
        logEvent('error', { dir: w.dir, error: messageOf(err) }, 'error');
        throw err;
      }
      if (w.intent.containerId) markMounted(this.store, w.intent.containerId, undefined);
    }));
    this.workers.clear();
    return results.every((r) => r.status === 'fulfilled');
  }

  // WorkerHost

  target(intent: MountIntent): MountTarget {
    if (!intent.containerId) return imageMount(this.store, intent.imageId);
    return containerMount(this.store, findContainer(this.store, intent.containerId), { readOnly: intent.readOnly });
  }

  wanted(intent: MountIntent): boolean {
    const now = this.intents.get(intent.dir);
    return !this.closing && now?.containerId === intent.containerId && now?.imageId === intent.imageId;
  }

  up(w: Worker): void {
    if (w.intent.containerId) markMounted(this.store, w.intent.containerId, w.dir);
  }

  gone(w: Worker): void {
    if (this.workers.get(w.dir) === w) this.workers.delete(w.dir);
  }

  private async intentFor(req: MountRequest, dir: string): Promise<{ intent: MountIntent; created: boolean }> {
    const base = { dir, readOnly: !!req.readOnly, created: new Date().toISOString() };
    if (req.container !== undefined) {
      const c = findContainer(this.store, req.container);
      const at = await liveMount(this.store, c);
      if (at) throw new ImgError('ALREADY_EXISTS', `container ${c.id.slice(0, 12)} is already mounted at ${at}`, { hint: `run \`lamina umount ${at}\` first` });
      ensureViewFile(this.store, c.imageId); // computed once and stored, so every worker of this mount starts fast
      return { intent: { ...base, imageId: c.imageId, containerId: c.id }, created: false };
    }
    const { id } = resolveImage(this.store, req.image!);
    ensureViewFile(this.store, id);
    if (req.readOnly) return { intent: { ...base, imageId: id }, created: false };
    const c = await createContainer(this.store, req.image!);
    return { intent: { ...base, imageId: id, containerId: c.id }, created: true };
  }

  /** Records `intent`; the primary key (dir) and the unique container_id refuse a second mount. */
  private addIntent(intent: MountIntent): void {
    try {
      this.intents.add(intent);
    } catch (err) {
      if (!String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) throw err;
      const other = this.intents.list().find((m) => m.dir === intent.dir || (intent.containerId && m.containerId === intent.containerId));
      throw new ImgError('ALREADY_EXISTS', other?.dir === intent.dir ? `${intent.dir} is already mounted`
        : `container ${intent.containerId?.slice(0, 12)} is already mounted at ${other?.dir}`, { cause: err });
    }
  }

  /** Whether the running server `rec` serves what `intent` records. */
  private serves(rec: MountRecord, intent: MountIntent): boolean {
    try {
      const t = this.target(intent);
      return JSON.stringify(rec.spec) === JSON.stringify(t.spec) && !!rec.fuse.readOnly === !!t.fuse.readOnly;
    } catch {
      return false;
    }
  }

  /** Lazily unmounts the dead mounts of every recorded server that is gone, and drops its record. */
  private async clearDeadRecords(): Promise<void> {
    const dir = path.join(this.runDir, 'mounts');
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names.filter((f) => f.endsWith('.json'))) {
      const rec = await readFile(path.join(dir, n), 'utf8').then((t) => JSON.parse(t) as MountRecord, () => undefined);
      if (!rec?.dir || (await isServerFor(rec.pid, rec.dir))) continue;
      if (await cleanupDeadMount(rec.dir, { runDir: this.runDir }).catch(() => false)) logEvent('cleanup', { dir: rec.dir, why: 'dead mount' });
      await removeRecord(this.runDir, rec.dir, rec.pid);
    }
  }
}

/** `dir` must be a directory; a dead mount on it (ENOTCONN) is cleared when the worker starts. */
async function checkMountpoint(dir: string): Promise<void> {
  const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOTCONN' || err.code === 'ECONNABORTED') return undefined;
    throw new ImgError('INVALID_ARGUMENT', `mountpoint ${dir}: ${err.code ?? messageOf(err)}`);
  });
  if (st && !st.isDirectory()) throw new ImgError('INVALID_ARGUMENT', `mountpoint ${dir} is not a directory`);
}
