// Child processes of run's code (the monitor, its sandbox and pasta, exec, stty) through
// node:child_process. execa's ~140 modules cost each monitor start about 80 ms of CPU before the
// container could run, and these children need nothing from it: fixed argv, no shell of ours,
// their own stdio.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** How a child ended: its exit code, or the signal that killed it (neither if it never started). */
export interface Exit {
  exitCode?: number;
  signal?: NodeJS.Signals;
}

export interface Child {
  proc: ChildProcess;
  /** Resolves once the child has exited and its stdio has closed; never rejects. */
  exited: Promise<Exit>;
}

export function spawnChild(file: string, args: string[], options: SpawnOptions): Child {
  const proc = spawn(file, args, options);
  const exited = new Promise<Exit>((resolve) => {
    proc.once('error', () => resolve({})); // could not start (or be signalled): there is no status
    proc.once('close', (code, signal) => resolve({ exitCode: code ?? undefined, signal: signal ?? undefined }));
  });
  return { proc, exited };
}

/** Whether the child is still running. */
export function running(c: Child): boolean {
  return c.proc.exitCode === null && c.proc.signalCode === null;
}
