import { ImgError, messageOf } from '../store/errors.js';
import { storeRoot } from '../store/root.js';
import type { Store } from '../store/store.js';

/** An error as the CLI prints it: `error: MESSAGE`, a hint, and with --debug its causes and stack. */
export function describeError(err: unknown, debug: boolean): string {
  const e = err as Error;
  const lines = [`error: ${messageOf(err)}`];
  if (err instanceof ImgError && err.hint) lines.push(`hint: ${err.hint}`);
  if (debug) for (let c = e?.cause; c; c = (c as Error).cause) lines.push(`  caused by: ${(c as Error).stack ?? String(c)}`);
  if (debug && e?.stack) lines.push(e.stack);
  return lines.join('\n');
}

/** What every command gets: the global flags and a lazily opened store. */
export class Context {
  private opened: Store | undefined;
  /** The status main() returns when the command finishes (run: the command's own). */
  exitCode = 0;
  /** The status for an error (docker run uses 125 for its own failures). */
  errorExitCode = 1;
  constructor(readonly rootFlag?: string, readonly debug = false, readonly socketFlag?: string,
    private readonly out: (s: string) => void = (s) => void process.stdout.write(s),
    private readonly err: (s: string) => void = (s) => void process.stderr.write(s)) {}

  get root(): string {
    return storeRoot(this.rootFlag);
  }

  /** The store, opened at the first call (its module too: `lamina version` never loads SQLite). */
  async store(): Promise<Store> {
    this.opened ??= await (await import('../store/store.js')).Store.open(this.root);
    return this.opened;
  }

  /** Print a line now: multi-argument commands report each argument as it is done. */
  say(line: string): void {
    this.out(`${line}\n`);
  }

  /** Report one failed argument of a multi-argument command and go on; the command exits non-zero at the end. */
  warn(err: unknown): void {
    this.err(`${describeError(err, this.debug)}\n`);
    this.exitCode = this.errorExitCode;
  }

  /** Run `fn` on every argument, reporting each failure (docker's `rmi a b c`). */
  async each<T>(args: readonly T[], fn: (arg: T) => Promise<void>): Promise<void> {
    for (const a of args) {
      try {
        await fn(a);
      } catch (err) {
        this.warn(err);
      }
    }
  }

  close(): void {
    this.opened?.close();
    this.opened = undefined;
  }
}

/** A command's output: returned, never printed by the command itself. */
export type Output = string | undefined;
