import type { ChildProcess } from 'node:child_process';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImgError } from '../store/errors.js';
import { canonicalDir, detachMount, probeMount } from './mountinfo.js';
import type { FuseMountOpts } from './mount-options.js';
import { DEFAULT_RUN_DIR, isServerFor, readRecord, removeRecord, stateFiles, writeRecord, type MountRecord, type MountSpec } from './mount-state.js';
import { spawnMountd, type NativeSpec } from './native-server.js';

export interface MountProcessOpts {
  /** Where records and logs live (default $LAMINA_RUN_DIR or /run/lamina). */
  runDir?: string;
  /** How long to wait for the mount to answer, or for the server to exit (default 15 s). */
  timeoutMs?: number;
  /**
   * Start the server as a child of this process (not detached, log appended) and hand it over
   * at once, so a supervisor sees it exit; without it the server is detached and outlives the caller.
   */
  onChild?: (child: ChildProcess) => void;
}

const POLL_MS = 25;
/**
 * Starts a lamina-mountd that mounts `spec` on `dir` and (unless `onChild`) outlives the caller.
 * Resolves once the mount answers; a dead mount left on `dir` is lazily unmounted first.
 */
export async function startMountServer(dir: string, spec: MountSpec, fuse: FuseMountOpts = {},
  opts: MountProcessOpts = {}): Promise<MountRecord> {
  const target = await canonicalDir(dir);
  const runDir = opts.runDir ?? DEFAULT_RUN_DIR;
  await prepareDir(target, runDir);
  const native = nativeSpec(spec);
  if (!native) throw new ImgError('INVALID_ARGUMENT', `mount spec of kind ${JSON.stringify(spec.kind)} names no view file`);
  return startNative(target, runDir, spec, native, fuse, opts);
}

/** What the native server needs, when `spec` is one it serves (an image, or a container, with its view file). */
function nativeSpec(spec: MountSpec): NativeSpec | undefined {
  if (typeof spec.view !== 'string' || typeof spec.root !== 'string') return undefined;
  if (spec.kind === 'image') return { view: spec.view, store: spec.root };
  if (spec.kind !== 'container' || typeof spec.upper !== 'string' || typeof spec.work !== 'string') return undefined;
  return { view: spec.view, store: spec.root, upper: spec.upper, work: spec.work };
}

async function startNative(target: string, runDir: string, spec: MountSpec, native: NativeSpec, fuse: FuseMountOpts,
  opts: MountProcessOpts): Promise<MountRecord> {
  const { log } = stateFiles(runDir, target);
  await mkdir(path.dirname(log), { recursive: true });
  const fh = await open(log, opts.onChild ? 'a' : 'w');
  let pid: number | undefined;
  try {
    pid = await withTimeout(spawnMountd(target, native, fuse, fh.fd, opts.onChild), opts.timeoutMs ?? 15_000, `mounting ${target}`);
    const rec: MountRecord = { dir: target, pid, spec, fuse, startedAt: new Date().toISOString(), logFile: log };
    await writeRecord(runDir, rec);
    return rec;
  } catch (err) {
    if (pid !== undefined) await stopServer(pid, target, 2000);
    await cleanupDeadMount(target, { runDir });
    throw await withServerLog(err, log);
  } finally {
    await fh.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ImgError('UNAVAILABLE', `${what}: the server did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The error with the last lines of the server's log appended. */
async function withServerLog(err: unknown, log: string): Promise<unknown> {
  if (!(err instanceof ImgError)) return err;
  const tail = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-20).join('\n');
  return tail ? new ImgError(err.code, `${err.message}; server log:\n${tail}`, { hint: `full log: ${log}`, cause: err }) : err;
}

/** Unmounts `dir` and makes its server exit: SIGTERM, then fusermount -u, then umount -l. */
export async function unmount(dir: string, opts: MountProcessOpts = {}): Promise<void> {
  const target = await canonicalDir(dir);
  const runDir = opts.runDir ?? DEFAULT_RUN_DIR;
  const rec = await readRecord(runDir, target);
  if (rec) await stopServer(rec.pid, target, opts.timeoutMs ?? 15_000);
  const state = await probeMount(target);
  if (state === 'live' || state === 'dead') await detachMount(target, state === 'dead');
  else if (!rec && state === 'none') throw new ImgError('NOT_FOUND', `${target} is not mounted`);
  await removeRecord(runDir, target);
}

/** Lazily unmounts `dir` if it holds a FUSE mount whose server died; true if it did. */
export async function cleanupDeadMount(dir: string, opts: Pick<MountProcessOpts, 'runDir'> = {}): Promise<boolean> {
  const target = await canonicalDir(dir);
  if ((await probeMount(target)) !== 'dead') return false;
  await detachMount(target, true);
  await removeRecord(opts.runDir ?? DEFAULT_RUN_DIR, target);
  return true;
}

/** The record of the server mounted on `dir`, if that server is still running. */
export async function mountRecord(dir: string, opts: Pick<MountProcessOpts, 'runDir'> = {}): Promise<MountRecord | undefined> {
  const target = await canonicalDir(dir);
  const rec = await readRecord(opts.runDir ?? DEFAULT_RUN_DIR, target);
  return rec && (await isServerFor(rec.pid, target)) ? rec : undefined;
}

async function prepareDir(target: string, runDir: string): Promise<void> {
  await cleanupDeadMount(target, { runDir });
  const state = await probeMount(target);
  if (state === 'live') throw new ImgError('ALREADY_EXISTS', `${target} is already mounted`, { hint: `run \`lamina umount ${target}\` first` });
  const rec = await readRecord(runDir, target);
  if (rec && (await isServerFor(rec.pid, target))) throw new ImgError('ALREADY_EXISTS', `${target} is being served by pid ${rec.pid}`);
  if (rec) await removeRecord(runDir, target);
  const st = await stat(target).catch(() => undefined);
  if (!st?.isDirectory()) throw new ImgError('INVALID_ARGUMENT', `mountpoint ${target} is not a directory`);
}

/** SIGTERM to a verified server PID, SIGKILL if it outlives the timeout. */
async function stopServer(pid: number, target: string, timeoutMs: number): Promise<void> {
  if (!(await isServerFor(pid, target))) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isServerFor(pid, target))) return;
    await sleep(POLL_MS);
  }
  if (await isServerFor(pid, target)) process.kill(pid, 'SIGKILL');
}
