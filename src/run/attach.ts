// The client end of `attach`: this terminal's (or pipes') input to the container, its output
// back, window sizes, proxied signals, and docker's detach keys (Ctrl-P Ctrl-Q).
import net from 'node:net';
import { ImgError } from '../store/errors.js';
import { spawnChild } from './child.js';
import { FRAME, FrameReader, frame, type ExitReport } from './monitor-protocol.js';

export interface AttachIO {
  /** Input for the container (-i); undefined: none. */
  stdin?: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; rows?: number; columns?: number; on?(ev: 'resize', fn: () => void): unknown };
  stderr: NodeJS.WritableStream;
  /** The container has a terminal: raw input, window sizes, detach keys; no signal proxy. */
  tty: boolean;
}

export interface AttachResult {
  /** The final exit report; undefined after a detach. */
  exit?: ExitReport;
  detached: boolean;
}

const CTRL_P = 0x10;
const CTRL_Q = 0x11;
const PROXIED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/**
 * Watches input for Ctrl-P Ctrl-Q: a Ctrl-P is held back until the next byte shows it is not
 * the start of the sequence, as docker's escape proxy does.
 */
export function detachFilter(): (chunk: Buffer) => { pass: Buffer; detach: boolean } {
  let held = false;
  return (chunk) => {
    const out: number[] = [];
    for (const b of chunk) {
      if (held) {
        held = false;
        if (b === CTRL_Q) return { pass: Buffer.from(out), detach: true };
        out.push(CTRL_P);
      }
      if (b === CTRL_P) held = true;
      else out.push(b);
    }
    return { pass: Buffer.from(out), detach: false };
  };
}

/** Attaches to the monitor at `socket` until the container is done for good or the user detaches. */
export async function attach(socket: string, io: AttachIO): Promise<AttachResult> {
  const restoreTerminal = io.stdin && io.tty && io.stdin.isTTY ? await makeRaw(io.stdin) : undefined;
  return new Promise<AttachResult>((resolve, reject) => {
    const sock = net.connect(socket);
    let exit: ExitReport | undefined;
    let detached = false;
    const size = () => ({ rows: io.stdout.rows ?? 24, cols: io.stdout.columns ?? 80 });
    const cleanups: Array<() => void> = restoreTerminal ? [restoreTerminal] : [];
    const done = () => {
      for (const f of cleanups.splice(0)) f();
    };
    sock.on('connect', () => {
      sock.write(`${JSON.stringify({ op: 'attach', stdin: !!io.stdin, ...(io.tty && io.stdout.isTTY ? size() : {}) })}\n`);
      if (io.stdin) cleanups.push(forwardInput(io, sock, () => {
        detached = true;
        sock.destroy();
      }));
      if (io.tty && io.stdout.isTTY && io.stdout.on) {
        const onResize = () => sock.write(frame(FRAME.resize, JSON.stringify(size())));
        io.stdout.on('resize', onResize);
        cleanups.push(() => (io.stdout as NodeJS.WriteStream).off('resize', onResize));
      }
      if (!io.tty) cleanups.push(proxySignals(sock));
    });
    const reader = new FrameReader((kind, payload) => {
      if (kind === FRAME.stdout) io.stdout.write(payload);
      else if (kind === FRAME.stderr) io.stderr.write(payload);
      else if (kind === FRAME.exit) exit = JSON.parse(payload.toString()) as ExitReport;
    });
    sock.on('data', (b: Buffer) => reader.push(b));
    sock.on('error', (err) => {
      done();
      if (!detached && !exit) reject(new ImgError('UNAVAILABLE', `attaching to the container: ${err.message}`));
    });
    sock.on('close', () => {
      done();
      if (detached || exit) resolve({ exit, detached });
      else reject(new ImgError('UNAVAILABLE', 'the container\'s monitor went away'));
    });
  });
}

/**
 * The terminal fully raw, as docker's client makes it: Node's raw mode keeps output processing
 * (a newline would become CR CR LF on top of the container's own pty). Leaving raw mode restores
 * the terminal as libuv found it, output processing included. Returns the undo.
 */
async function makeRaw(stdin: NodeJS.ReadStream): Promise<() => void> {
  stdin.setRawMode(true);
  await spawnChild('stty', ['-opost'], { stdio: [stdin, 'ignore', 'ignore'] }).exited;
  return () => stdin.setRawMode(false);
}

/** Sends stdin to the container (watching a terminal's input for the detach keys); returns its undo. */
function forwardInput(io: AttachIO, sock: net.Socket, onDetach: () => void): () => void {
  const stdin = io.stdin!;
  const filter = io.tty ? detachFilter() : undefined;
  const onData = (b: Buffer) => {
    const { pass, detach } = filter ? filter(b) : { pass: b, detach: false };
    if (pass.length) sock.write(frame(FRAME.stdin, pass));
    if (detach) onDetach();
  };
  const onEnd = () => sock.write(frame(FRAME.stdinEnd));
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.pause();
  };
}

/** docker's --sig-proxy: signals this process gets go to the container; returns the undo. */
function proxySignals(sock: net.Socket): () => void {
  const fwd = (sig: NodeJS.Signals) => sock.write(frame(FRAME.signal, sig));
  for (const s of PROXIED) process.on(s, fwd);
  return () => {
    for (const s of PROXIED) process.off(s, fwd);
  };
}
