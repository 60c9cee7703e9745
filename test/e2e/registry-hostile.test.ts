// Pulls from a registry that attacks (test/helpers/hostile-registry.ts): an endless layer, a
// layer trickled a byte at a time, and a slow one killed midway. Each pull ends with a clear
// one-line error in bounded time, and the store holds nothing half-written; what a killed
// pull leaves is counted by `info` and removed by `gc`, never while the pull still runs.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { layerTar } from '../helpers/archives.js';
import { hostileRegistry, type BlobMode, type HostileRegistry } from '../helpers/hostile-registry.js';
import { BIN, lamina, laminaOk, tempDir } from '../helpers/lamina.js';
import { runOk, waitFor } from '../helpers/proc.js';

let work: string;
let cleanup: () => Promise<void>;
let root: string;
let n = 0;
let open: HostileRegistry[] = [];
let small: Buffer;
let big: Buffer;

async function serving(layer: Buffer, mode: BlobMode): Promise<HostileRegistry> {
  const r = await hostileRegistry(layer, mode);
  open.push(r);
  return r;
}

/** `lamina pull` of the image a hostile registry serves, timed. */
async function pullFrom(layer: Buffer, mode: BlobMode, env: Record<string, string> = {}) {
  const reg = await serving(layer, mode);
  const ref = reg.ref(`evil/${mode}:latest`);
  const t0 = Date.now();
  const r = await lamina(root, ['pull', ref], { env, timeout: 60_000 });
  return { reg, ref, r, ms: Date.now() - t0 };
}

const du = async (dir: string) => Number((await runOk('du', ['-sb', dir])).stdout.split('\t')[0]);

/** Nothing visible and nothing half-written: no image, every blob verifies, no staging left. */
async function expectCleanStore(): Promise<void> {
  expect(await laminaOk(root, ['images', '-q'])).toBe('');
  const dir = path.join(root, 'blobs/sha256');
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const h = createHash('sha256');
    await pipeline(createReadStream(path.join(dir, name)), h);
    expect(h.digest('hex'), `blob ${name}`).toBe(name);
  }
  expect(await readdir(path.join(root, 'pulls')).catch(() => [])).toEqual([]);
  expect(await readdir(path.join(root, 'ingest')).catch(() => [])).toEqual([]);
  expect(await laminaOk(root, ['gc'])).toBe('Removed 0 blobs, 0B\n');
}

beforeAll(async () => {
  ({ dir: work, cleanup } = await tempDir('lamina-hostile-'));
  small = await layerTar([{ name: 'etc/motd', content: 'hello\n' }]);
  big = await layerTar([{ name: 'data.bin', content: randomBytes(6 << 20).toString('latin1') }]);
});
afterAll(async () => cleanup?.());
beforeEach(() => {
  root = path.join(work, `store-${++n}`);
});
afterEach(async () => {
  await Promise.all(open.map((r) => r.close()));
  open = [];
});

describe('a registry that sends an endless layer', () => {
  it('stops at the size the manifest declares, with a clear error, and keeps nothing', async () => {
    const { reg, ref, r, ms } = await pullFrom(big, 'endless');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: pull ${ref}: layer ${reg.layer.digest}: registry sent more than the ${reg.layer.size} bytes the manifest declares\n`);
    expect(ms).toBeLessThan(30_000);
    expect(reg.layerGets).toEqual(['']); // not retried: the registry will not change its mind
    expect(reg.sent).toBeLessThan(reg.layer.size + (16 << 20)); // what was in flight when lamina hung up
    expect(await du(root)).toBeLessThan(4 << 20); // the staged part is gone again
    await expectCleanStore();
  }, 90_000);
});

describe('a registry that trickles a layer a byte at a time', () => {
  it('gives up at the request deadline after bounded resumes, and keeps nothing', async () => {
    const { reg, ref, r, ms } = await pullFrom(small, 'trickle', { LAMINA_REQUEST_TIMEOUT: '1' });
    expect(r.code).toBe(1);
    // 1 s, plus the bytes still missing at 16 KiB/s
    expect(r.stderr).toMatch(new RegExp(`^error: pull ${ref.replace(/\./g, '\\.')}: layer ${reg.layer.digest}: talking to ${reg.host.replace(/\./g, '\\.')}: no complete answer within 1\\.[12] s \\(LAMINA_REQUEST_TIMEOUT\\)\n$`));
    expect(reg.layerGets).toHaveLength(5); // the first GET and 4 resumes
    expect(reg.layerGets.slice(1).every((g) => /^bytes=[1-9]\d*-$/.test(g))).toBe(true);
    expect(ms).toBeLessThan(20_000);
    await expectCleanStore();
  }, 90_000);

  it('gives up at LAMINA_COMMAND_TIMEOUT, whatever the retries left', async () => {
    const { reg, ref, r, ms } = await pullFrom(small, 'trickle', { LAMINA_REQUEST_TIMEOUT: '1', LAMINA_COMMAND_TIMEOUT: '2' });
    expect(r).toMatchObject({ code: 1, stderr: `error: pull ${ref}: layer ${reg.layer.digest}: gave up after 2 s (LAMINA_COMMAND_TIMEOUT)\n` });
    expect(ms).toBeLessThan(6_000);
    await expectCleanStore();
  }, 90_000);
});

describe('the staging of a pull', () => {
  it('is counted by info, left alone by gc while the pull runs, and removed by gc once it was killed', async () => {
    const reg = await serving(big, 'slow');
    const ref = reg.ref('evil/slow:latest');
    const pullsDir = path.join(root, 'pulls');
    const child = spawn(process.execPath, [BIN, '--root', root, 'pull', ref], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await waitFor(async () => (await du(pullsDir).catch(() => 0)) > (1 << 20), { timeoutMs: 20_000, what: 'a MiB staged' });
      expect(await laminaOk(root, ['gc'])).toBe('Removed 0 blobs, 0B\n'); // the pull is alive: its staging stays
      expect(await readdir(pullsDir)).toHaveLength(1);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const staged = await du(pullsDir);
    const info = JSON.parse(await laminaOk(root, ['info', '--format', 'json']));
    expect(info.Staging.Pulls).toBe(1);
    expect(info.Staging.Bytes).toBeGreaterThan(1 << 20);
    expect(info.Staging.Bytes).toBeLessThanOrEqual(staged);
    expect(await laminaOk(root, ['info'])).toMatch(/^Staging: 1 unfinished pull, [\d.]+MB \(\d+ bytes\)$/m);
    expect(await laminaOk(root, ['gc'])).toMatch(/^Removed 0 blobs, 0B\nRemoved 1 unfinished pull, [\d.]+MB\n$/);
    expect(await readdir(pullsDir)).toEqual([]);
    expect(await laminaOk(root, ['info'])).toMatch(/^Staging: 0 unfinished pulls, 0B \(0 bytes\)$/m);
    reg.mode = 'pass';
    await laminaOk(root, ['pull', '-q', ref]);
    const [img] = JSON.parse(await laminaOk(root, ['inspect', ref]));
    expect(img.RootFS.Layers).toEqual([reg.layer.digest]);
  }, 90_000);
});
