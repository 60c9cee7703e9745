// The setup the registry-*.test.ts files share: Debian's docker-registry on 127.0.0.1, a temp
// work dir, and a lamina store per test, all gone after the block.
import path from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { tempDir } from './lamina.js';
import { runOk } from './proc.js';
import { startRegistry, type Registry } from './registry.js';

export interface RegistryStore {
  registry: Registry;
  work: string;
  /** The store: work/store-N, new for each test; work/store for the whole block with `sharedStore`. */
  root: string;
  /** DOCKER_CONFIG under work, so no test reads or writes the user's credentials. */
  env: NodeJS.ProcessEnv;
}

/**
 * Registers the hooks of the block it is called in; `set` gets the state once it is ready and
 * again whenever `root` changes. Its afterAll runs after the block's own (vitest's hook stack).
 */
export function useRegistryStore(prefix: string, set: (s: RegistryStore) => void, o: { sharedStore?: boolean } = {}): void {
  let s: RegistryStore | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  let n = 0;
  beforeAll(async () => {
    const registry = await startRegistry();
    const t = await tempDir(prefix);
    cleanup = t.cleanup;
    s = { registry, work: t.dir, root: path.join(t.dir, 'store'), env: { DOCKER_CONFIG: path.join(t.dir, 'docker') } };
    set(s);
  }, 60_000);
  if (!o.sharedStore) {
    beforeEach(() => {
      s!.root = path.join(s!.work, `store-${++n}`);
      set(s!);
    });
  }
  afterAll(async () => {
    await s?.registry.stop();
    await cleanup?.();
  }, 30_000);
}

/** skopeo copy of OCI layout `layout`'s `tag` to `ref` on a plain-HTTP registry. */
export async function pushLayout(layout: string, ref: string, o: { tag?: string; all?: boolean; creds?: string; timeout?: number } = {}): Promise<void> {
  await runOk('skopeo', ['copy', '-q', ...(o.all ? ['--all'] : []), '--dest-tls-verify=false', ...(o.creds ? ['--dest-creds', o.creds] : []),
    `oci:${layout}:${o.tag ?? 'latest'}`, `docker://${ref}`], { timeout: o.timeout ?? 120_000 });
}
