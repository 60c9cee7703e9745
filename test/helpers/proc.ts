// Child-process helpers for tests. Everything is asynchronous, so a test
// process never blocks its event loop while a tool runs.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { killGroup, trackGroup } from './reap.js';

export interface RunOptions {
  cwd?: string;
  /** Extra environment, merged over process.env. */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin (then stdin is closed). */
  input?: string | Buffer;
  /** Milliseconds before the child is killed with SIGKILL. Default 60 s. */
  timeout?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when the child was ended by a signal (see `signal`). */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

export class RunError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    readonly result: RunResult,
  ) {
    const how = result.timedOut
      ? 'timed out'
      : result.signal
        ? `was killed by ${result.signal}`
        : `exited with ${result.code}`;
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-20).join('\n');
    super(`${[cmd, ...args].map(quote).join(' ')} ${how}${tail ? `:\n${tail}` : ''}`);
    this.name = 'RunError';
  }
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Run a command and collect its output. Never throws for a non-zero exit:
 * look at `code`. A command that cannot be started (ENOENT) is reported as
 * code 127 with the error in stderr, as a shell would.
 *
 * The command leads a process group (session) of its own: a timeout, or the end of
 * the test process while it still runs, kills it with everything it started there.
 */
export function run(cmd: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
  const timeout = opts.timeout ?? 60_000;
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let settled = false;
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    // Untracked on close, not exit: until then something it started may still hold its pipes.
    const untrack = child.pid ? trackGroup(child.pid) : () => false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killGroup(child.pid);
    }, timeout);
    const finish = (r: Omit<RunResult, 'stdout' | 'stderr' | 'timedOut'>, extraErr = '') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      untrack();
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + extraErr,
        timedOut,
        ...r,
      });
    };
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish({ code: e.code === 'ENOENT' ? 127 : 126, signal: null }, `${cmd}: ${e.message}\n`);
    });
    child.on('close', (code, signal) => finish({ code, signal }));
    child.stdin.on('error', () => {
      /* child exited before reading its input: reported through its exit code */
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Like run(), but throws a RunError unless the command exits 0. */
export async function runOk(cmd: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new RunError(cmd, args, r);
  return r;
}

/** Whether an executable is on PATH. */
export async function haveCommand(name: string): Promise<boolean> {
  const r = await run('sh', ['-c', 'command -v "$1"', 'sh', name], { timeout: 10_000 });
  return r.code === 0 && r.stdout.trim() !== '';
}

/** Poll `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 10_000, intervalMs = 50, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** Whether a process with this PID exists (and is not a zombie). */
export async function pidAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers kill(0); look at its state.
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
