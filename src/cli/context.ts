import { Store, storeRoot } from '../layers/store.js';

/** What every command gets: the global flags and a lazily opened store. */
export class Context {
  private opened: Store | undefined;
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
