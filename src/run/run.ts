// docker run and docker create: a container for the image (pulled when missing), then, for run,
// its process under a monitor, attached to this terminal unless detached.
import { Writable } from 'node:stream';
import { containers, createContainer, findContainer, removeContainer, type ContainerRecord } from '../container/containers.js';
import { readConfig } from '../image/inspect.js';
import { findImage } from '../image/resolve.js';
import { pull } from '../registry/pull.js';
import { ImgError, isNotFound, type ErrorCode } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { attach } from './attach.js';
import { monitorSocket, spawnMonitor, startContainer } from './lifecycle.js';
import { specOf } from './spec-of.js';
import { buildRunSpec, type CreateFlags } from './spec.js';


export interface RunOpts extends CreateFlags {
  image: string;
  name?: string;
  rm: boolean;
  interactive: boolean;
  tty: boolean;
  volumes: string[];
  /** -d: start it and return its ID; output goes to the log only. */
  detach?: boolean;
  /**
   * Supervise the container in this process instead of a monitor process of its own: it starts
   * some 0.2 s sooner, but lives only as long as this process and cannot be detached from.
   * For callers that run many short commands (build); the CLI keeps docker's behaviour.
   */
  inProcess?: boolean;
  /** Receives the command's stdout and stderr instead of lamina's own (build -q). */
  output?: (chunk: Buffer) => void;
  /** Where progress and notices go (stderr). */
  say: (line: string) => void;
}

/** The image ID, pulled first when the store does not have it (docker run's behaviour). */
export async function imageFor(store: Store, ref: string, say: (l: string) => void): Promise<string> {
  const hit = findImage(store, ref);
  if (hit) return hit.id;
  say(`Unable to find image '${ref}' locally`);
  const r = await pull(store, ref, { onEvent: (e) => e.kind === 'start' ? say(e.text) : e.status === 'Pull complete' && say(`${e.id}: Pull complete`) });
  say(`Digest: ${r.digest}`);
  say(`Status: Downloaded newer image for ${r.familiar}`);
  return r.id;
}

/** docker create (and run's first step): every flag is checked before the container exists. */
export async function createForRun(store: Store, o: Omit<RunOpts, 'say'> & { say?: (l: string) => void; create?: boolean }): Promise<ContainerRecord> {
  const id = await imageFor(store, o.image, o.say ?? (() => undefined));
  const spec = buildRunSpec((await readConfig(store, id as `sha256:${string}`)).config, o, { allowNoCommand: o.create });
  return createContainer(store, o.image, { name: o.name, spec });
}

/** docker run -d: the new container, running. */
export async function runDetached(store: Store, o: RunOpts): Promise<ContainerRecord> {
  const c = await createForRun(store, o);
  return spawnMonitor(store, c, false);
}

/**
 * docker run in the foreground: create the container, start it under its monitor attached to this
 * process's stdio, and resolve with its exit status once it is done (0 after Ctrl-P Ctrl-Q).
 * Errors of the run itself (a missing user, a bad mountpoint) are thrown: docker's 125.
 */
export async function runContainer(store: Store, o: RunOpts): Promise<number> {
  if (o.tty && !process.stdin.isTTY) throw new ImgError('INVALID_ARGUMENT', 'the input device is not a TTY');
  if (o.detach) {
    await runDetached(store, o);
    return 0;
  }
  const c = await createForRun(store, o);
  if (o.inProcess) return runHere(store, c, o);
  try {
    await spawnMonitor(store, c, true);
  } catch (err) {
    if (o.rm) await removeContainer(store, findContainer(store, c.id)).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
    throw err;
  }
  return attachHere(monitorSocket(c.id), o);
}

/** How to run a command in an existing container (runInContainer). */
export type RunInOpts = Omit<RunOpts, 'image' | 'name' | 'rm' | 'detach' | 'inProcess'>;

/**
 * Runs a command in existing container `c` (build's RUN), supervised in this process, and resolves
 * with its exit status; the container stays, its run spec now that of this command.
 */
export async function runInContainer(store: Store, c: ContainerRecord, o: RunInOpts): Promise<number> {
  const spec = buildRunSpec((await readConfig(store, c.imageId)).config, o);
  containers(store).setSpec(c.id, spec);
  return runHere(store, { ...c, spec }, o);
}

/** The monitor of `c` in this process, attached to at once; its exit status. */
async function runHere(store: Store, c: ContainerRecord, o: RunInOpts): Promise<number> {
  const socket = monitorSocket(c.id);
  let listening!: (err?: ImgError) => void;
  const ready = new Promise<ImgError | undefined>((r) => (listening = r));
  const { runMonitor } = await import('./monitor.js'); // the CLI only needs it here
  const monitor = runMonitor({
    root: store.root, id: c.id, socket, waitForAttach: true, inProcess: { store },
    report: (m) => listening(m.error ? new ImgError((m.code as ErrorCode | undefined) ?? 'INTERNAL', String(m.error)) : undefined),
  });
  const err = await ready;
  if (err) {
    await monitor;
    throw err;
  }
  try {
    return await attachHere(socket, o);
  } finally {
    await monitor;
  }
}

/** docker start -a [-i]: starts container `name` attached to this process's stdio; resolves with its exit status. */
export async function startAttached(store: Store, name: string, interactive: boolean): Promise<number> {
  const c = await startContainer(store, name, true);
  const spec = await specOf(store, c);
  return attachHere(monitorSocket(c.id), { interactive: interactive && spec.interactive, tty: spec.tty, say: (l) => process.stderr.write(`${l}\n`) });
}

/** A stream that hands what is written to `fn`. */
const sink = (fn: (chunk: Buffer) => void) => new Writable({ write(chunk: Buffer, _enc, done) { fn(chunk); done(); } });

/** Attaches this process's stdio (or `output`) to a monitor until the container is done; 0 after a detach. */
async function attachHere(socket: string, o: Pick<RunOpts, 'interactive' | 'tty' | 'say' | 'output'>): Promise<number> {
  const out = o.output ? { stdout: sink(o.output), stderr: sink(o.output) } : { stdout: process.stdout, stderr: process.stderr };
  const r = await attach(socket, { stdin: o.interactive ? process.stdin : undefined, stdout: out.stdout, stderr: out.stderr, tty: o.tty });
  if (r.detached) {
    o.say('read escape sequence');
    return 0;
  }
  if (r.exit?.error) throw new ImgError('FAILED_PRECONDITION', r.exit.error);
  return r.exit?.exitCode ?? 0;
}
