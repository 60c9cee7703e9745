// Run the built lamina CLI (dist/) as a real child process against a store root.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunOptions, type RunResult } from './proc.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(REPO, 'bin/lamina.js');

export function lamina(root: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [BIN, '--root', root, ...args], { timeout: 120_000, ...opts });
}

/** lamina that must succeed; returns stdout. */
export async function laminaOk(root: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await lamina(root, args, opts);
  if (r.code !== 0) throw new Error(`lamina ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** lamina on the store `root()` with `env()` (both read at each call), and a variant that must succeed. */
export function cliOn(root: () => string, env: () => NodeJS.ProcessEnv): {
  cli: (args: string[], opts?: RunOptions) => Promise<RunResult>;
  cliOk: (args: string[]) => Promise<string>;
} {
  const cli = (args: string[], opts: RunOptions = {}) => lamina(root(), args, { env: env(), timeout: 60_000, ...opts });
  return { cli, cliOk: (args) => laminaOk(root(), args, { env: env(), timeout: 60_000 }) };
}

/** A temp dir removed by the returned cleanup. */
export async function tempDir(prefix = 'lamina-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
