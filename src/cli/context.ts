import { Store, storeRoot } from '../store/store.js';

/** What every command gets: the global flags and a lazily opened store. */
export class Context {
  private opened: Store | undefined;
  /** The status main() returns when the command finishes (run: the command's own). */
  exitCode = 0;
  /** The status for an error (docker run uses 125 for its own failures). */
  errorExitCode = 1;
  constructor(readonly rootFlag?: string, readonly debug = false) {}

  get root(): string {
    return storeRoot(this.rootFlag);
  }

  async store(): Promise<Store> {
    this.opened ??= await Store.open(this.root);
    return this.opened;
  }

  close(): void {
    this.opened?.close();
    this.opened = undefined;
  }
}

/** A command's output: returned, never printed by the command itself. */
export type Output = string | undefined;
