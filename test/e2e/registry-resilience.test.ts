// Faults between lamina and a real registry: a proxy (test/helpers/registry-proxy.ts) that
// answers 503 or 500, drops, stalls or corrupts blob transfers, a TLS front with a
// self-signed certificate, and kill -9 mid-pull. After each fault the store must hold only
// blobs that verify, with nothing for gc to remove.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildOciLayout } from '../helpers/images.js';
import { BIN, lamina, laminaOk } from '../helpers/lamina.js';
import { runOk } from '../helpers/proc.js';
import { blobGets, faultProxy, firstGetOf, isBlobGet, type FaultProxy, type Policy, type ProxyOptions } from '../helpers/registry-proxy.js';
import type { Registry } from '../helpers/registry.js';
import { pushLayout, useRegistryStore } from '../helpers/registry-store.js';

let registry: Registry;
let work: string;
let root: string;
let env: NodeJS.ProcessEnv;
useRegistryStore('lamina-resilience-', (s) => ({ registry, work, root, env } = s));
let smallLayers: Array<{ digest: string; size: number }>;
let smallConfig: { digest: string; size: number };

let open: FaultProxy[] = [];
async function withProxy(policy: Policy, opts?: ProxyOptions): Promise<FaultProxy> {
  const p = await faultProxy(registry, policy, opts);
  open.push(p);
  return p;
}

/** What a fault may not leave behind: every blob hashes to its name, gc finds nothing to remove, no staging left. */
async function expectSoundStore(): Promise<void> {
  const dir = path.join(root, 'blobs/sha256');
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const h = createHash('sha256');
    await pipeline(createReadStream(path.join(dir, name)), h);
    expect(h.digest('hex'), `blob ${name}`).toBe(name);
  }
  expect(await laminaOk(root, ['gc'])).toBe('Removed 0 blobs, 0B\n');
  expect(await readdir(path.join(root, 'pulls')).catch(() => [])).toEqual([]);
  expect(await readdir(path.join(root, 'ingest')).catch(() => [])).toEqual([]);
}

const manifestOf = async (name: string) => JSON.parse((await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.ref(name)}`])).stdout);
const diffIds = async (name: string) => JSON.parse((await runOk('skopeo', ['inspect', '--config', '--tls-verify=false', `docker://${registry.ref(name)}`])).stdout).rootfs.diff_ids;
const randomFile = (name: string, mb: number) => async (rootfs: string) => {
  await runOk('sh', ['-c', `head -c ${mb << 20} /dev/urandom > "${path.join(rootfs, name)}"`]);
};

beforeAll(async () => {
  const small = path.join(work, 'small');
  await buildOciLayout(small, [randomFile('a.bin', 2), randomFile('b.bin', 3)]);
  await pushLayout(small, registry.ref('lamina/small:latest'), { timeout: 300_000 });
  ({ layers: smallLayers, config: smallConfig } = await manifestOf('lamina/small:latest'));
}, 120_000);
afterEach(async () => {
  await Promise.all(open.map((p) => p.close()));
  open = [];
});

describe('retries', () => {
  it('retries 503 answers with backoff and completes', async () => {
    const p = await withProxy((_req, i) => (i <= 3 ? '503' : 'pass'));
    const ref = p.ref('lamina/small:latest');
    expect(await laminaOk(root, ['pull', '-q', ref], { env })).toBe(`${ref}\n`);
    expect(p.log.filter((l) => l.status === 503)).toHaveLength(3);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', ref]));
    expect(info.RootFS.Layers).toEqual(await diffIds('lamina/small:latest'));
  }, 60_000);

  it('gives up after a bounded number of attempts on a registry that keeps failing', async () => {
    const p = await withProxy(() => '503');
    const t0 = Date.now();
    const r = await lamina(root, ['pull', p.ref('lamina/small')], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: pull ${p.ref('lamina/small')}: ${p.host} answered HTTP 503 Service Unavailable\n`);
    expect(p.log.filter((l) => l.url.includes('/manifests/'))).toHaveLength(5);
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 60_000);

  it('resumes a blob whose connection dropped midway with an HTTP Range request', async () => {
    const p = await withProxy(firstGetOf(smallLayers[1]!.digest, 'drop'));
    const ref = p.ref('lamina/small:latest');
    await laminaOk(root, ['pull', ref], { env });
    const resumed = p.log.filter((l) => l.range);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]!.range).toMatch(/^bytes=(\d+)-$/);
    expect(Number(/\d+/.exec(resumed[0]!.range!)![0])).toBeGreaterThan(0);
    expect(resumed[0]!.status).toBe(206);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', ref]));
    expect(info.RootFS.Layers).toEqual(await diffIds('lamina/small:latest'));
    await expectSoundStore();
  }, 60_000);

  it('gives up on a blob whose connection keeps dropping, after bounded resumes, keeping nothing', async () => {
    const p = await withProxy(blobGets(smallLayers[1]!.digest, 'drop', Infinity));
    const ref = p.ref('lamina/small:latest');
    const r = await lamina(root, ['pull', ref], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: pull ${ref}: layer ${smallLayers[1]!.digest}: talking to ${p.host}: connection reset by peer\n`);
    const gets = p.log.filter((l) => isBlobGet(l) && l.url.endsWith(smallLayers[1]!.digest));
    expect(gets).toHaveLength(5); // the first GET and 4 resumes (5 attempts)
    expect(gets.slice(1).every((l) => /^bytes=[1-9]\d*-$/.test(l.range ?? ''))).toBe(true);
    expect(await laminaOk(root, ['images', '-q'])).toBe('');
    await expectSoundStore();
  }, 60_000);

  it('recovers from a blob answered 500 twice then 200', async () => {
    const digest = smallLayers[0]!.digest;
    const p = await withProxy(blobGets(digest, '500', 2));
    const ref = p.ref('lamina/small:latest');
    expect(await laminaOk(root, ['pull', '-q', ref], { env })).toBe(`${ref}\n`);
    expect(p.log.filter((l) => isBlobGet(l) && l.url.endsWith(digest)).map((l) => l.status)).toEqual([500, 500, 200]);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', ref]));
    expect(info.RootFS.Layers).toEqual(await diffIds('lamina/small:latest'));
    await expectSoundStore();
  }, 60_000);

  it('abandons a stalled transfer after the idle timeout and resumes it', async () => {
    const p = await withProxy(firstGetOf(smallLayers[1]!.digest, 'stall'));
    const t0 = Date.now();
    await laminaOk(root, ['pull', '-q', p.ref('lamina/small:latest')], { env: { ...env, LAMINA_IDLE_TIMEOUT: '1' } });
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(p.log.filter((l) => l.range)).toHaveLength(1);
  }, 60_000);
});

describe('corruption in transit', () => {
  it('a layer with one byte flipped fails the pull with a digest mismatch; nothing is kept', async () => {
    const digest = smallLayers[1]!.digest;
    const p = await withProxy(blobGets(digest, 'corrupt', Infinity));
    const ref = p.ref('lamina/small:latest');
    const r = await lamina(root, ['pull', ref], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: pull ${ref.replace(/\./g, '\\.')}: layer ${digest}: digest mismatch: want ${digest}, got sha256:[0-9a-f]{64}\n$`));
    const gets = p.log.filter((l) => isBlobGet(l) && l.url.endsWith(digest));
    expect(gets).toHaveLength(1); // a mismatch is not a transient failure: no retry
    expect(gets[0]!.flipped).toBe(Math.floor(smallLayers[1]!.size / 2));
    expect(await laminaOk(root, ['images', '-q'])).toBe('');
    await expectSoundStore();
    // the good layer that finished first is not kept either: a clean pull fetches both
    const clean = await withProxy(() => 'pass');
    await laminaOk(root, ['pull', '-q', clean.ref('lamina/small:latest')], { env });
    expect(clean.log.filter((l) => isBlobGet(l)).length).toBe(3);
    await expectSoundStore();
  }, 60_000);

  it('a config with one byte flipped fails with a digest mismatch before any layer moves', async () => {
    const p = await withProxy(blobGets(smallConfig.digest, 'corrupt', Infinity));
    const ref = p.ref('lamina/small:latest');
    const r = await lamina(root, ['pull', ref], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: pull ${ref.replace(/\./g, '\\.')}: blob ${smallConfig.digest}: digest mismatch: got sha256:[0-9a-f]{64}\n$`));
    expect(p.log.filter((l) => isBlobGet(l) && !l.url.endsWith(smallConfig.digest))).toEqual([]);
    expect(await laminaOk(root, ['images', '-q'])).toBe('');
    await expectSoundStore();
  }, 60_000);
});

describe('uploads', () => {
  it('pushes a blob larger than 32 MiB in PATCH chunks', async () => {
    const layout = path.join(work, 'big-layer');
    await buildOciLayout(layout, [randomFile('big.bin', 40)]);
    const loaded = (await laminaOk(root, ['load', '-i', layout])).trim().split(' ').pop()!;
    const p = await withProxy(() => 'pass');
    const ref = p.ref('lamina/chunked:latest');
    await laminaOk(root, ['tag', loaded, ref]);
    await laminaOk(root, ['push', ref], { env });
    const patches = p.log.filter((l) => l.method === 'PATCH');
    expect(patches.map((l) => l.contentRange)).toEqual([`0-${(32 << 20) - 1}`, expect.stringMatching(new RegExp(`^${32 << 20}-\\d+$`))]);
    const m = await manifestOf('lamina/chunked:latest');
    const mine = JSON.parse(await readFile(path.join(root, 'blobs/sha256', JSON.parse(await laminaOk(root, ['inspect', ref]))[0].Manifest.Digest.slice(7)), 'utf8'));
    expect(m).toEqual(mine);
  }, 120_000);
});

describe('TLS', () => {
  it('reaches a loopback registry with a self-signed certificate over HTTPS first (insecure by default)', async () => {
    const key = path.join(work, 'key.pem');
    const cert = path.join(work, 'cert.pem');
    await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=lamina-test']);
    const p = await withProxy(() => 'pass', { tls: { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') } });
    const ref = p.ref('lamina/small:latest');
    expect(await laminaOk(root, ['pull', '-q', ref], { env })).toBe(`${ref}\n`);
    expect(p.log.some((l) => l.url.includes('/manifests/latest'))).toBe(true);
  }, 60_000);
});

describe('a 200 MB image', () => {
  const name = 'lamina/large:latest';
  let layers: Array<{ digest: string; size: number }>;
  beforeAll(async () => {
    const layout = path.join(work, 'large');
    await buildOciLayout(layout, [randomFile('small.bin', 8), randomFile('medium.bin', 16), randomFile('large.bin', 176)], { timeout: 300_000 });
    await pushLayout(layout, registry.ref(name), { timeout: 300_000 });
    layers = (await manifestOf(name)).layers;
  }, 300_000);

  it('pulls at a measured throughput', async () => {
    const bytes = layers.reduce((s, l) => s + l.size, 0);
    const t0 = performance.now();
    await laminaOk(root, ['pull', '-q', registry.ref(name)], { env, timeout: 300_000 });
    const seconds = (performance.now() - t0) / 1000;
    const mbps = bytes / 1e6 / seconds;
    console.log(`pull of ${(bytes / 1e6).toFixed(0)} MB from the local registry: ${seconds.toFixed(2)} s, ${mbps.toFixed(0)} MB/s`);
    expect(mbps).toBeGreaterThan(10);
  }, 300_000);

  it('survives kill -9 midway: the store stays consistent and the rerun reuses finished layers', async () => {
    const p = await withProxy(() => 'pass', { throttle: true });
    const ref = p.ref(name);
    const small = layers[0]!.digest.slice(7, 19);
    const child = spawn(process.execPath, [BIN, '--root', root, 'pull', ref], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes(`${small}: Pull complete`)) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.once('exit', () => reject(new Error(`pull ended before the kill:\n${out}`)));
    });
    await new Promise((r) => child.once('close', r));
    const db = new Database(path.join(root, 'index.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM images').get()).toEqual({ n: 0 });
    db.close();
    expect(await readdir(path.join(root, 'pulls'))).toHaveLength(1);

    const rerun = await laminaOk(root, ['pull', ref], { env, timeout: 300_000 });
    expect(rerun).toMatch(/Status: Downloaded newer image for/);
    const gets = (d: string) => p.log.filter((l) => isBlobGet(l) && l.url.endsWith(d)).length;
    expect(gets(layers[0]!.digest)).toBe(1);
    expect(gets(layers[2]!.digest)).toBe(2);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', ref]));
    expect(info.RootFS.Layers).toEqual(await diffIds(name));
    expect(await readdir(path.join(root, 'pulls'))).toEqual([]);
    expect(await readdir(path.join(root, 'ingest'))).toEqual([]);
  }, 300_000);
});
