// Faults between lamina and a real registry: a node:http proxy that answers 503, drops or
// stalls blob transfers, a TLS front with a self-signed certificate, and kill -9 mid-pull.
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildOciLayout } from '../helpers/images.js';
import { BIN, lamina, laminaOk, tempDir } from '../helpers/lamina.js';
import { runOk } from '../helpers/proc.js';
import { startRegistry, type Registry } from '../helpers/registry.js';

type Fault = 'pass' | '503' | 'drop' | 'stall';
interface Logged { method: string; url: string; range?: string; status?: number; contentRange?: string }
type Policy = (req: http.IncomingMessage, n: number) => Fault;

let registry: Registry;
let work: string;
let cleanup: () => Promise<void>;
let root: string;
let n = 0;
let smallLayers: Array<{ digest: string; size: number }>;
const env = () => ({ DOCKER_CONFIG: path.join(work, 'docker') });
const isBlobGet = (r: { method?: string; url?: string }) => r.method === 'GET' && /\/blobs\/sha256:/.test(r.url ?? '');

/** Forward to the registry, keeping Host so its Location headers point back at the proxy. */
function forward(req: http.IncomingMessage, res: http.ServerResponse, fault: Fault, log: Logged, throttle: boolean): void {
  const up = http.request({ host: '127.0.0.1', port: registry.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
    log.status = ur.statusCode;
    res.writeHead(ur.statusCode!, ur.headers);
    let sent = 0;
    ur.on('data', (c: Buffer) => {
      sent += c.length;
      if (fault !== 'pass' && sent > 256 << 10) {
        ur.destroy();
        if (fault === 'drop') res.socket?.destroy();
        return; // 'stall': keep the connection open and send nothing more
      }
      const full = !res.write(c);
      const pace = throttle && sent % (1 << 20) < c.length; // ~50 MB/s: 20 ms per MiB
      if (full || pace) {
        ur.pause();
        const resume = () => ur.resume();
        if (full) res.once('drain', pace ? () => setTimeout(resume, 20) : resume);
        else setTimeout(resume, 20);
      }
    });
    ur.on('end', () => res.end());
  });
  up.on('error', () => res.socket?.destroy());
  req.pipe(up);
}

async function proxy(policy: Policy, opts: { throttle?: boolean; tls?: { key: string; cert: string } } = {}) {
  const log: Logged[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const entry: Logged = { method: req.method!, url: req.url!, range: req.headers.range, contentRange: req.headers['content-range'] as string | undefined };
    log.push(entry);
    const fault = policy(req, log.length);
    if (fault === '503') {
      entry.status = 503;
      return void res.writeHead(503, { 'Content-Type': 'text/plain' }).end('try later');
    }
    forward(req, res, fault, entry, !!opts.throttle && isBlobGet(req));
  };
  const server = opts.tls ? https.createServer(opts.tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host, log, ref: (name: string) => `${host}/${name}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
let open: Array<{ close(): Promise<void> }> = [];
async function withProxy(policy: Policy, opts?: Parameters<typeof proxy>[1]) {
  const p = await proxy(policy, opts);
  open.push(p);
  return p;
}

/** `fault` for the first GET of the blob `digest` only. */
function firstGetOf(digest: string, fault: Fault): Policy {
  let done = false;
  return (req) => {
    if (done || !isBlobGet(req) || !req.url!.endsWith(digest)) return 'pass';
    done = true;
    return fault;
  };
}

async function skopeoPush(layout: string, name: string): Promise<void> {
  await runOk('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${registry.ref(name)}`], { timeout: 300_000 });
}
const manifestOf = async (name: string) => JSON.parse((await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.ref(name)}`])).stdout);
const diffIds = async (name: string) => JSON.parse((await runOk('skopeo', ['inspect', '--config', '--tls-verify=false', `docker://${registry.ref(name)}`])).stdout).rootfs.diff_ids;
const randomFile = (name: string, mb: number) => async (rootfs: string) => {
  await runOk('sh', ['-c', `head -c ${mb << 20} /dev/urandom > "${path.join(rootfs, name)}"`]);
};

beforeAll(async () => {
  registry = await startRegistry();
  ({ dir: work, cleanup } = await tempDir('lamina-resilience-'));
  const small = path.join(work, 'small');
  await buildOciLayout(small, [randomFile('a.bin', 2), randomFile('b.bin', 3)]);
  await skopeoPush(small, 'lamina/small:latest');
  smallLayers = (await manifestOf('lamina/small:latest')).layers;
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  await cleanup?.();
}, 30_000);
beforeEach(() => {
  root = path.join(work, `store-${++n}`);
});
afterEach(async () => {
  await Promise.all(open.map((p) => p.close()));
  open = [];
});

describe('retries', () => {
  it('retries 503 answers with backoff and completes', async () => {
    const p = await withProxy((_req, i) => (i <= 3 ? '503' : 'pass'));
    const ref = p.ref('lamina/small:latest');
    expect(await laminaOk(root, ['pull', '-q', ref], { env: env() })).toBe(`${ref}\n`);
    expect(p.log.filter((l) => l.status === 503)).toHaveLength(3);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', ref]));
    expect(info.RootFS.Layers).toEqual(await diffIds('lamina/small:latest'));
  }, 60_000);

  it('gives up after a bounded number of attempts on a registry that keeps failing', async () => {
    const p = await withProxy(() => '503');
    const t0 = Date.now();
    const r = await lamina(root, ['pull', p.ref('lamina/small')], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: pull ${p.ref('lamina/small')}: ${p.host} answered HTTP 503 Service Unavailable\n`);
    expect(p.log.filter((l) => l.url.includes('/manifests/'))).toHaveLength(5);
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 60_000);

  it('resumes a blob whose connection dropped midway with an HTTP Range request', async () => {
    const p = await withProxy(firstGetOf(smallLayers[1]!.digest, 'drop'));
    const ref = p.ref('lamina/small:latest');
    await laminaOk(root, ['pull', ref], { env: env() });
    const resumed = p.log.filter((l) => l.range);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]!.range).toMatch(/^bytes=(\d+)-$/);
    expect(Number(/\d+/.exec(resumed[0]!.range!)![0])).toBeGreaterThan(0);
    expect(resumed[0]!.status).toBe(206);
    const [info] = JSON.parse(await laminaOk(root, ['inspect', ref]));
    expect(info.RootFS.Layers).toEqual(await diffIds('lamina/small:latest'));
  }, 60_000);

  it('abandons a stalled transfer after the idle timeout and resumes it', async () => {
    const p = await withProxy(firstGetOf(smallLayers[1]!.digest, 'stall'));
    const t0 = Date.now();
    await laminaOk(root, ['pull', '-q', p.ref('lamina/small:latest')], { env: { ...env(), LAMINA_IDLE_TIMEOUT: '1' } });
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(p.log.filter((l) => l.range)).toHaveLength(1);
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
    await laminaOk(root, ['push', ref], { env: env() });
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
    expect(await laminaOk(root, ['pull', '-q', ref], { env: env() })).toBe(`${ref}\n`);
    expect(p.log.some((l) => l.url.includes('/manifests/latest'))).toBe(true);
  }, 60_000);
});

describe('a 200 MB image', () => {
  const name = 'lamina/large:latest';
  let layers: Array<{ digest: string; size: number }>;
  beforeAll(async () => {
    const layout = path.join(work, 'large');
    await buildOciLayout(layout, [randomFile('small.bin', 8), randomFile('medium.bin', 16), randomFile('large.bin', 176)], { timeout: 300_000 });
    await skopeoPush(layout, name);
    layers = (await manifestOf(name)).layers;
  }, 300_000);

  it('pulls at a measured throughput', async () => {
    const bytes = layers.reduce((s, l) => s + l.size, 0);
    const t0 = performance.now();
    await laminaOk(root, ['pull', '-q', registry.ref(name)], { env: env(), timeout: 300_000 });
    const seconds = (performance.now() - t0) / 1000;
    const mbps = bytes / 1e6 / seconds;
    console.log(`pull of ${(bytes / 1e6).toFixed(0)} MB from the local registry: ${seconds.toFixed(2)} s, ${mbps.toFixed(0)} MB/s`);
    expect(mbps).toBeGreaterThan(10);
  }, 300_000);

  it('survives kill -9 midway: the store stays consistent and the rerun reuses finished layers', async () => {
    const p = await withProxy(() => 'pass', { throttle: true });
    const ref = p.ref(name);
    const small = layers[0]!.digest.slice(7, 19);
    const child = spawn(process.execPath, [BIN, '--root', root, 'pull', ref], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
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

    const rerun = await laminaOk(root, ['pull', ref], { env: env(), timeout: 300_000 });
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
