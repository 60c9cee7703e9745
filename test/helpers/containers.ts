// A store with one test image, and lamina mounts that are always cleaned up.
// Every mount and every command on a mount runs in a child process.
import { chmod, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { parseMountInfo } from '../../src/fuse/mountinfo.js';
import { buildOciLayout, type LayerSpec } from './images.js';
import { lamina, laminaOk, tempDir } from './lamina.js';
import { run, type RunResult } from './proc.js';

export const canMount = process.getuid?.() === 0 && (await readFile('/dev/fuse').then(() => true, (e) => e.code !== 'ENOENT'));

/** Mount points under `prefix` in /proc/self/mountinfo (any filesystem type). */
export async function mountsUnder(prefix: string): Promise<string[]> {
  const entries = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
  return entries.filter((m) => m.mountPoint.startsWith(prefix)).map((m) => m.mountPoint);
}

/** `sh -c script` in a child process. */
export const sh = (script: string, timeout = 120_000): Promise<RunResult> => run('sh', ['-c', script], { timeout });

/** sh that must succeed; returns stdout. */
export async function shOk(script: string, timeout = 120_000): Promise<string> {
  const r = await sh(script, timeout);
  if (r.code !== 0) throw new Error(`sh -c ${JSON.stringify(script)} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export interface Fixture {
  work: string;
  root: string;
  runDir: string;
  /** The test image's reference in the store. */
  ref: string;
  /** lamina with this store and run dir. */
  cli(args: string[], timeout?: number): Promise<RunResult>;
  cliOk(args: string[], timeout?: number): Promise<string>;
  /** `lamina mount [--read-only] X DIR` (DIR created), tracked for cleanup; returns stdout. */
  mount(what: string, dir: string, readOnly?: boolean): Promise<string>;
  /** lamina umount, then umount -l as a last resort. */
  umount(dir: string): Promise<void>;
  /** Unmounts everything still mounted; true when nothing is left under `work`. */
  unmountAll(): Promise<boolean>;
  cleanup(): Promise<void>;
}

/** A temp store holding an image built from `layers` (umoci), tagged `ref`. */
export async function fixture(prefix: string, layers: LayerSpec[], ref = 'lamina.test/container:1'): Promise<Fixture> {
  const { dir: work, cleanup } = await tempDir(prefix);
  await chmod(work, 0o755);
  const root = path.join(work, 'store');
  const runDir = path.join(work, 'run');
  const layout = path.join(work, 'layout');
  await buildOciLayout(layout, layers, { timeout: 300_000 });
  const env = { LAMINA_RUN_DIR: runDir };
  const cli = (args: string[], timeout = 120_000) => lamina(root, args, { env, timeout });
  const cliOk = (args: string[], timeout = 120_000) => laminaOk(root, args, { env, timeout });
  const id = /sha256:[0-9a-f]{64}/.exec(await cliOk(['load', '-i', layout], 300_000))![0];
  await cliOk(['tag', id, ref]);
  const mounted = new Set<string>();
  const f: Fixture = {
    work, root, runDir, ref, cli, cliOk,
    async mount(what, dir, readOnly = false) {
      await mkdir(dir, { recursive: true });
      const r = await cli(['mount', ...(readOnly ? ['--read-only'] : []), what, dir]);
      if (r.code !== 0) throw new Error(`lamina mount ${what} ${dir} exited ${r.code}: ${r.stderr}`);
      mounted.add(dir);
      return r.stdout;
    },
    async umount(dir) {
      const r = await cli(['umount', dir]);
      if (r.code !== 0 && (await mountsUnder(dir)).includes(dir)) await run('umount', ['-l', dir]);
      mounted.delete(dir);
    },
    async unmountAll() {
      for (const d of [...mounted]) await f.umount(d);
      for (const m of await mountsUnder(work)) await run('umount', ['-l', m]);
      return (await mountsUnder(work)).length === 0;
    },
    async cleanup() {
      await f.unmountAll();
      await cleanup();
    },
  };
  return f;
}

/**
 * The fixture of a describe block, handed to `set` once built; checked after each test that
 * it left no mount, then unmounted and removed after all.
 */
export function useFixture(prefix: string, layers: LayerSpec[], set: (f: Fixture) => void, buildTimeout = 600_000): void {
  let f: Fixture | undefined;
  beforeAll(async () => {
    f = await fixture(prefix, layers);
    set(f);
  }, buildTimeout);
  afterEach(async () => {
    expect(await f!.unmountAll()).toBe(true);
  }, 60_000);
  afterAll(() => releaseFixture(f), 60_000);
}

/**
 * After all tests of a block: every mount of the fixture gone, no mount server logged an errno it
 * could not map (it would have answered EIO), then its directory removed.
 */
export async function releaseFixture(f: Fixture | undefined): Promise<void> {
  if (!f) return;
  expect(await f.unmountAll()).toBe(true);
  expect(await mountsUnder(f.work)).toEqual([]);
  expect(await shOk(`cat '${f.work}'/run*/mounts/*.log 2>/dev/null || true`)).not.toMatch(/unmapped error/);
  await f.cleanup();
}
