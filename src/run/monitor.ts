// A container's monitor: one detached process per running container (as conmon is for podman).
// It mounts the container, runs its process (again, as the restart policy says), keeps its
// output in the log, records its state in the index, answers clients on a Unix socket (attach,
// kill, stop) and cleans up when the process is done for good. The container dies with it.
import { chmod, mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { liveMount, mountContainer, unmountDir } from '../container/container-mounts.js';
import { containers, findContainer, removeContainer, type ContainerRecord } from '../container/containers.js';
import type { RunSpec } from '../container/run-spec.js';
import { messageOf } from '../store/errors.js';
import { Store } from '../store/store.js';
import { exitStatus, startProcess, type Started } from './container-process.js';
import { LogWriter, logPath, type Stream } from './logs.js';
import { FRAME, FrameReader, firstLine, frame, type ExitReport, type MonitorAnswer, type MonitorRequest } from './monitor-protocol.js';
import { ensureMountpoints, removeScaffold, type Scaffold } from './rootfs.js';
import { restartDelay, shouldRestart } from './restart.js';
import { procInfo } from '../container/proc-stat.js';
import { specOf } from './spec-of.js';
import { parseVolume } from './spec.js';

export interface MonitorOpts {
  root: string;
  id: string;
  /** Where the socket goes. */
  socket: string;
  /** Start the process only once the first client attached (docker run without -d). */
  waitForAttach: boolean;
  /** Tells the starter the socket answers ({listening: true}) or why not ({error, code}); called before anything is spawned. */
  report(msg: Record<string, unknown>): void;
  /** Run inside the caller's process (with its open store): no signal handlers of its own. */
  inProcess?: { store: Store };
}

/** How long a monitor started for a foreground run waits for its client. */
const ATTACH_WAIT_MS = 60_000;

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const now = () => new Date().toISOString();

interface Client { sock: net.Socket; stdin: boolean }

class Monitor {
  private readonly clients = new Set<Client>();
  private readonly stopWaiters: Array<(code: number) => void> = [];
  private current?: Started;
  private log!: LogWriter;
  private server?: net.Server;
  private rootfs?: string;
  private ownsMount = false;
  private scaffold?: Scaffold;
  /** stop, kill or rm -f: no restart. */
  private userStopped = false;
  /** SIGTERM to the monitor (host shutdown): stop, and let the policy decide at the next start. */
  private shuttingDown = false;
  private wakeDelay?: () => void;
  private attached?: () => void;
  private lastExit = 0;
  /** How the first start went, for `started` requests. */
  private readonly firstStart = deferred<MonitorAnswer>();
  /** Input that arrived before the process started. */
  private readonly early: Array<[Client, number, Buffer]> = [];

  constructor(private readonly store: Store, private c: ContainerRecord, private readonly spec: RunSpec, private readonly o: MonitorOpts) {}

  private get index() {
    return containers(this.store);
  }

  async run(): Promise<number> {
    await this.listen();
    if (!this.index.claimMonitor(this.c.id, { pid: process.pid, start: procInfo('self')!.start, socket: this.o.socket })) {
      this.o.report({ error: `container ${this.c.id.slice(0, 12)} is already running`, code: 'ALREADY_EXISTS' });
      this.server?.close();
      return 1;
    }
    this.o.report({ listening: true });
    this.index.setRun(this.c.id, { stoppedByUser: false, restartCount: 0, error: undefined });
    this.c.run.restartCount = 0;
    this.log = new LogWriter(logPath(this.c.upperDir));
    if (!this.o.inProcess) for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => this.shutdown());
    let removed = false;
    let error: string | undefined;
    try {
      if (this.o.waitForAttach) await this.firstClient();
      await this.loop();
    } catch (err) {
      error = messageOf(err);
      this.index.setRun(this.c.id, { state: this.c.run.startedAt ? 'exited' : 'created', error, exitCode: this.c.run.startedAt ? 125 : undefined });
      this.firstStart.resolve({ ok: false, error, code: (err as { code?: string }).code ?? 'INTERNAL' });
      this.lastExit = 125;
    } finally {
      removed = await this.cleanup();
    }
    this.finish({ exitCode: this.lastExit, removed, error });
    return 0;
  }

  /** The starter attaches right after it hears the socket answers; one that died meanwhile leaves nothing running. */
  private async firstClient(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([new Promise<void>((r) => (this.attached = r)), new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`nobody attached within ${ATTACH_WAIT_MS / 1000} s`)), ATTACH_WAIT_MS);
      })]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Starts, waits, and starts again while the restart policy says so. */
  private async loop(): Promise<void> {
    let delay = 0;
    for (let first = true; ; first = false) {
      if (!first) this.index.setRun(this.c.id, { restartCount: ++this.c.run.restartCount, state: 'running' });
      const started = await this.start();
      if (first) this.firstStart.resolve({ ok: true, pid: started.pid });
      const startedAt = Date.now();
      const code = await exitStatus(started);
      this.current = undefined;
      this.log.flush();
      this.lastExit = code;
      this.index.setRun(this.c.id, { state: 'exited', exitCode: code, finishedAt: now(), pid: undefined });
      const again = !this.shuttingDown && shouldRestart(this.spec.restart,
        { exitCode: code, restartCount: this.c.run.restartCount, stoppedByUser: this.userStopped });
      if (!again) return;
      delay = restartDelay(delay, Date.now() - startedAt);
      this.index.setRun(this.c.id, { state: 'restarting' });
      await Promise.race([sleep(delay), new Promise<void>((r) => (this.wakeDelay = r))]);
      if (this.userStopped || this.shuttingDown) {
        this.index.setRun(this.c.id, { state: 'exited' });
        return;
      }
    }
  }

  private async start(): Promise<Started> {
    const rootfs = await this.mount();
    const volumes = this.spec.volumes.map(parseVolume);
    this.scaffold ??= await ensureMountpoints(rootfs, this.c.upperDir, volumes);
    const started = await startProcess(this.c, this.spec, {
      rootfs, volumes, stateDir: path.dirname(this.c.upperDir), onOutput: (s, b) => this.output(s, b),
    });
    this.current = started;
    this.c.run.startedAt = now();
    this.index.setRun(this.c.id, { state: 'running', pid: started.pid, startedAt: this.c.run.startedAt, error: undefined });
    this.resizeFromClients();
    for (const [client, kind, payload] of this.early.splice(0)) this.fromClient(client, kind, payload);
    return started;
  }

  /** The container's root: its mount if it is mounted already (lamina mount), else one made here. */
  private async mount(): Promise<string> {
    if (this.rootfs) return this.rootfs;
    const at = await liveMount(this.store, this.c);
    if (at) return (this.rootfs = at);
    const dir = path.join(path.dirname(this.c.upperDir), 'merged');
    await mkdir(dir, { recursive: true });
    // only the container reaches this mount (the store root is 0700): setuid binaries and devices work in it
    await mountContainer(this.store, this.c, dir, { suid: true });
    this.ownsMount = true;
    return (this.rootfs = dir);
  }

  private output(stream: Stream, chunk: Buffer): void {
    this.log.write(stream, chunk);
    this.broadcast(stream === 'stdout' ? FRAME.stdout : FRAME.stderr, chunk, false);
  }

  private broadcast(kind: number, payload: Buffer | string, end: boolean): void {
    const f = frame(kind as 0, payload);
    for (const cl of this.clients) {
      if (end) cl.sock.end(f);
      else cl.sock.write(f);
    }
  }

  /** Unmounts what it mounted, drops the scaffolding, forgets itself; true when --rm removed the container. */
  private async cleanup(): Promise<boolean> {
    await this.log?.close();
    if (this.ownsMount && this.rootfs) {
      try {
        await unmountDir(this.store, this.rootfs);
        await rm(this.rootfs, { recursive: true, force: true });
        if (this.scaffold) removeScaffold(this.c.upperDir, this.c.workDir, this.scaffold);
      } catch (err) {
        process.stderr.write(`cleanup of ${this.c.id}: ${messageOf(err)}\n`);
      }
    }
    this.index.setRun(this.c.id, { monitorPid: undefined, monitorStart: undefined, monitorSocket: undefined, pid: undefined });
    if (!this.spec.autoRemove) return false;
    await removeContainer(this.store, findContainer(this.store, this.c.id)).catch(() => undefined);
    return true;
  }

  /** Tells every client and stop request how it ended, then closes the socket. */
  private finish(r: ExitReport): void {
    this.broadcast(FRAME.exit, JSON.stringify(r), true);
    for (const w of this.stopWaiters) w(r.exitCode);
    this.server?.close();
    void rm(this.o.socket, { force: true });
  }

  private shutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    void this.stop(this.spec.stopSignal ?? 'SIGTERM', 10).catch(() => undefined);
  }

  /** Signals the container's first process, after checking the PID is still the sandbox's child. */
  private signal(sig: string): void {
    const cur = this.current;
    if (!cur) throw new Error('the container is not running');
    if (os.constants.signals[sig as NodeJS.Signals] === undefined) throw new Error(`invalid signal: ${sig}`);
    if (procInfo(cur.pid)?.ppid !== cur.sandbox.proc.pid) throw new Error('the container is not running');
    process.kill(cur.pid, sig as NodeJS.Signals);
  }

  private async stop(sig: string, timeoutSec: number): Promise<void> {
    this.wakeDelay?.();
    const cur = this.current;
    if (!cur) return;
    try {
      this.signal(sig);
    } catch {
      // gone already
    }
    const done = cur.sandbox.exited.then(() => true);
    if (!(await Promise.race([done, sleep(timeoutSec * 1000).then(() => false)])) && this.current === cur) this.signal('SIGKILL');
  }

  // ---- the socket ----

  private async listen(): Promise<void> {
    await mkdir(path.dirname(this.o.socket), { recursive: true, mode: 0o755 });
    await rm(this.o.socket, { force: true });
    const server = net.createServer((sock) => this.accept(sock));
    const umask = process.umask(0o177); // only root may attach to a container
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.o.socket, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    await chmod(this.o.socket, 0o600);
    this.server = server;
  }

  private accept(sock: net.Socket): void {
    sock.on('error', () => undefined);
    const onData = firstLine((line, rest) => {
      sock.off('data', feed);
      let req: MonitorRequest;
      try {
        req = JSON.parse(line) as MonitorRequest;
      } catch {
        return void sock.end(`${JSON.stringify({ ok: false, error: 'bad request' })}\n`);
      }
      void this.answer(sock, req, rest);
    });
    const feed = (b: Buffer) => {
      try {
        onData(b);
      } catch {
        sock.destroy();
      }
    };
    sock.on('data', feed);
  }

  private async answer(sock: net.Socket, req: MonitorRequest, rest: Buffer): Promise<void> {
    const reply = (a: MonitorAnswer): void => void sock.end(`${JSON.stringify(a)}\n`);
    try {
      switch (req.op) {
        case 'attach':
          return this.attach(sock, req, rest);
        case 'started':
          return reply(await this.firstStart.promise);
        case 'kill':
          this.userStopped = true;
          this.index.setRun(this.c.id, { stoppedByUser: true });
          this.wakeDelay?.();
          if (this.current) this.signal(req.signal);
          return reply({ ok: true });
        case 'stop':
          this.userStopped = true;
          this.index.setRun(this.c.id, { stoppedByUser: true });
          this.stopWaiters.push((exitCode) => reply({ ok: true, exitCode }));
          await this.stop(req.signal, req.timeoutSec);
          return;
        default:
          return reply({ ok: false, error: `unknown request ${(req as { op: string }).op}` });
      }
    } catch (err) {
      reply({ ok: false, error: messageOf(err) });
    }
  }

  private attach(sock: net.Socket, req: Extract<MonitorRequest, { op: 'attach' }>, rest: Buffer): void {
    const client: Client = { sock, stdin: req.stdin };
    this.clients.add(client);
    sock.on('close', () => this.clients.delete(client));
    if (req.rows && req.cols) this.size = { rows: req.rows, cols: req.cols };
    const reader = new FrameReader((kind, payload) => this.fromClient(client, kind, payload));
    sock.on('data', (b: Buffer) => reader.push(b));
    if (rest.length) reader.push(rest);
    this.resizeFromClients();
    this.attached?.();
    this.attached = undefined;
  }

  private size?: { rows: number; cols: number };

  private resizeFromClients(): void {
    if (this.size && this.current && this.spec.tty) this.current.control.write(`${this.size.rows} ${this.size.cols}\n`);
  }

  private fromClient(client: Client, kind: number, payload: Buffer): void {
    if (!this.current && (kind === FRAME.stdin || kind === FRAME.stdinEnd)) return void this.early.push([client, kind, payload]);
    const stdin = this.current?.sandbox.proc.stdin;
    if (kind === FRAME.stdin && client.stdin && stdin && !stdin.writableEnded) stdin.write(payload);
    else if (kind === FRAME.stdinEnd && client.stdin && stdin && !this.spec.tty) stdin.end();
    else if (kind === FRAME.resize) {
      const { rows, cols } = JSON.parse(payload.toString()) as { rows: number; cols: number };
      this.size = { rows, cols };
      this.resizeFromClients();
    } else if (kind === FRAME.signal && this.current) {
      try {
        this.signal(payload.toString());
      } catch {
        // not running any more
      }
    }
  }
}

/** Runs the monitor of container `id` until its process is done for good; resolves with the monitor's exit status. */
export async function runMonitor(o: MonitorOpts): Promise<number> {
  const store = o.inProcess?.store ?? await Store.open(o.root);
  try {
    const c = containers(store).get(o.id);
    if (!c) {
      o.report({ error: `No such container: ${o.id}`, code: 'NOT_FOUND' });
      return 1;
    }
    return await new Monitor(store, c, await specOf(store, c), o).run();
  } finally {
    if (!o.inProcess) store.close();
  }
}
