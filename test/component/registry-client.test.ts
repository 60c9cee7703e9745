// The registry client's parts: challenge and Link parsing, redaction, registries.json,
// docker's config.json, and the transport against loopback servers (TLS, redirects, mirrors).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/store/errors.js';
import { parseChallenge } from '../../src/registry/auth.js';
import { nextLink } from '../../src/registry/catalog.js';
import { isInsecure, isLoopback, loadRegistriesConfig } from '../../src/registry/config.js';
import { credentialsFor, removeCredentials, saveCredentials, HUB_KEY } from '../../src/registry/credentials.js';
import { redact } from '../../src/registry/errors.js';
import { blobBytes } from '../../src/registry/download.js';
import { readBody } from '../../src/registry/http.js';
import { RegistryTransport, type EndpointSpec } from '../../src/registry/transport.js';
import { tempDir } from '../helpers/lamina.js';
import { runOk } from '../helpers/proc.js';
import { freePort } from '../helpers/registry.js';

let work: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: work, cleanup } = await tempDir('lamina-registry-client-'));
});
afterAll(async () => cleanup?.());

describe('parseChallenge', () => {
  it.each([
    ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } }],
    ['Basic realm="lamina-test"', { scheme: 'basic', params: { realm: 'lamina-test' } }],
    ['bearer realm=http://x/t, service=s', { scheme: 'bearer', params: { realm: 'http://x/t', service: 's' } }],
    ['Bearer realm="a\\"b",error="insufficient_scope"', { scheme: 'bearer', params: { realm: 'a"b', error: 'insufficient_scope' } }],
    ['Negotiate abc', undefined],
    ['', undefined],
  ])('%s', (header, want) => expect(parseChallenge(header)).toEqual(want));
}, 10_000);

describe('nextLink', () => {
  const base = new URL('http://r:5000/v2/_catalog?n=100');
  it.each([
    ['</v2/_catalog?last=b&n=100>; rel="next"', 'http://r:5000/v2/_catalog?last=b&n=100'],
    ['<http://other/v2/x/tags/list?n=2&last=a>; rel=next', 'http://other/v2/x/tags/list?n=2&last=a'],
    ['</p1>; rel="prev", </p2>; rel="next"', 'http://r:5000/p2'],
    ['</p1>; rel="prev"', undefined],
    [undefined, undefined],
  ])('%s', (link, want) => expect(nextLink(link, base)?.href).toBe(want));
}, 10_000);

describe('redact', () => {
  it.each([
    ['GET https://user:s3cret@mirror.example/v2/', 'GET https://***@mirror.example/v2/'],
    ['Authorization: Basic dXNlcjpzM2NyZXQ=', 'Authorization: Basic ***'],
    ['Bearer eyJhbGciOi.J9.x', 'Bearer ***'],
    ['/token?service=x&access_token=abc&scope=y', '/token?service=x&access_token=***&scope=y'],
    ['plain message', 'plain message'],
  ])('%s', (input, want) => expect(redact(input)).toBe(want));
}, 10_000);

describe('registries.json', () => {
  it.each([
    ['localhost:5000', true], ['localhost', true], ['127.0.0.1:5000', true], ['127.9.8.7', true], ['[::1]:5000', true],
    ['10.1.2.3:5000', false], ['registry.example.com', false], ['docker.io', false],
  ])('loopback %s → %s', (host, want) => expect(isLoopback(host)).toBe(want));

  it('marks listed hosts and CIDR ranges insecure, nothing else', () => {
    const cfg = { mirrors: {}, insecure: ['reg.internal:5000', '10.0.0.0/8', 'plain.example'] };
    expect(isInsecure(cfg, 'reg.internal:5000')).toBe(true);
    expect(isInsecure(cfg, 'reg.internal:5001')).toBe(false);
    expect(isInsecure(cfg, 'plain.example:443')).toBe(true);
    expect(isInsecure(cfg, '10.200.0.1:5000')).toBe(true);
    expect(isInsecure(cfg, '11.0.0.1')).toBe(false);
    expect(isInsecure(cfg, 'registry.example.com')).toBe(false);
  });

  it('reads <root>/registries.json; keys of the system file take precedence', async () => {
    const root = path.join(work, 'cfg-root');
    await mkdir(root, { recursive: true });
    await writeFile(path.join(root, 'registries.json'), JSON.stringify({ mirrors: { 'docker.io': ['https://m1.example'] }, insecure: ['a:1'] }));
    const system = path.join(work, 'system.json');
    expect(await loadRegistriesConfig(root, system)).toEqual({ mirrors: { 'docker.io': ['https://m1.example'] }, insecure: ['a:1'] });
    await writeFile(system, JSON.stringify({ insecure: ['b:2'] }));
    expect(await loadRegistriesConfig(root, system)).toEqual({ mirrors: { 'docker.io': ['https://m1.example'] }, insecure: ['b:2'] });
  });

  it.each([
    ['{"mirrors": {"docker.io": "https://x"}}', /"mirrors.docker.io" must be a list/],
    ['{"mirrors": {"docker.io": ["https://x/path"]}}', /must be an http\(s\) URL with no path/],
    ['{"insecure": "x"}', /"insecure" must be a list/],
    ['[1]', /want a JSON object/],
    ['{', /invalid JSON/],
  ])('rejects %s', async (text, why) => {
    const root = path.join(work, `bad-${Math.random().toString(36).slice(2)}`);
    await mkdir(root);
    await writeFile(path.join(root, 'registries.json'), text);
    await expect(loadRegistriesConfig(root, path.join(work, 'none.json'))).rejects.toThrow(why);
  });
}, 10_000);

describe("docker's config.json", () => {
  it('saves atomically with mode 0600, reads docker key forms, and removes', async () => {
    const file = path.join(work, 'docker', 'config.json');
    await saveCredentials('docker.io', { username: 'u', password: 'p:with:colons' }, file);
    await saveCredentials('reg.example:5000', { username: 'v', password: 'q' }, file);
    const cfg = JSON.parse(await readFile(file, 'utf8'));
    expect(Object.keys(cfg.auths).sort()).toEqual([HUB_KEY, 'reg.example:5000'].sort());
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(await credentialsFor('docker.io', file)).toEqual({ username: 'u', password: 'p:with:colons' });
    expect(await credentialsFor('reg.example:5000', file)).toEqual({ username: 'v', password: 'q' });
    expect(await credentialsFor('other:1', file)).toBeUndefined();
    expect(await removeCredentials('docker.io', file)).toBe(true);
    expect(await removeCredentials('docker.io', file)).toBe(false);
    expect(await credentialsFor('docker.io', file)).toBeUndefined();
    expect(await credentialsFor('reg.example:5000', file)).toEqual({ username: 'v', password: 'q' });
  });

  it('matches keys written with a scheme and path, and username/password fields', async () => {
    const file = path.join(work, 'docker2', 'config.json');
    await mkdir(path.dirname(file));
    await writeFile(file, JSON.stringify({ auths: { 'https://reg.example:5000/v1/': { username: 'x', password: 'y' } } }));
    expect(await credentialsFor('reg.example:5000', file)).toEqual({ username: 'x', password: 'y' });
  });
}, 10_000);

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const servers: Array<http.Server> = [];
async function serve(handler: Handler, tls?: { key: string; cert: string }): Promise<string> {
  const s = tls ? https.createServer(tls, handler) : http.createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
});

const spec = (host: string, scheme: 'http' | 'https', o: Partial<EndpointSpec> = {}): EndpointSpec =>
  ({ host, bases: [{ url: new URL(`${scheme}://${host}`), insecureTls: false }], mirror: false, ...o });
const FAST = { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 };
const transport = (...specs: EndpointSpec[]) => new RegistryTransport('test', specs, { connectMs: 2000, idleMs: 2000, requestMs: 5000 }, FAST);
const get = (t: RegistryTransport, p: string, read = false) => t.request({ method: 'GET', path: p, scopes: [], read });

describe('transport', () => {
  it('refuses a self-signed certificate unless the registry is insecure', async () => {
    const key = path.join(work, 'key.pem');
    const cert = path.join(work, 'cert.pem');
    await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=lamina-test']);
    const host = await serve((_q, r) => r.end('{}'), { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') });
    const err = await get(transport(spec(host, 'https')), '/v2/').catch((e: unknown) => e as Error & { hint?: string });
    expect((err as Error).message).toMatch(new RegExp(`^${host}: tls: self[- ]signed certificate`));
    expect((err as { hint?: string }).hint).toMatch(/insecure/);
    const ok = transport({ host, bases: [{ url: new URL(`https://${host}`), insecureTls: true }], mirror: false });
    expect((await readBody(await get(ok, '/v2/'))).toString()).toBe('{}');
  }, 30_000);

  it('says when a plain-HTTP server is reached over HTTPS, and falls back to HTTP for insecure registries', async () => {
    const host = await serve((_q, r) => r.end('{}'));
    const err = await get(transport(spec(host, 'https')), '/v2/').catch((e: Error) => e);
    expect((err as Error).message).toBe(`${host}: http: server gave HTTP response to HTTPS client`);
    const insecure = transport({ host, mirror: false, bases: [{ url: new URL(`https://${host}`), insecureTls: true }, { url: new URL(`http://${host}`), insecureTls: true }] });
    expect((await readBody(await get(insecure, '/v2/'))).toString()).toBe('{}');
  }, 30_000);

  it('follows redirects and never sends Authorization to another host', async () => {
    const seen: Array<string | undefined> = [];
    const cdn = await serve((q, r) => { seen.push(q.headers.authorization); r.end('blob'); });
    const reg = await serve((q, r) => {
      if (!q.headers.authorization) return void r.writeHead(401, { 'WWW-Authenticate': 'Basic realm="x"' }).end();
      if (q.url === '/v2/') return void r.end('{}');
      r.writeHead(307, { Location: `http://${cdn}/signed?sig=1` }).end();
    });
    const t = transport(spec(reg, 'http', { credentials: { username: 'u', password: 'p' } }));
    expect((await readBody(await get(t, '/v2/x/blobs/sha256:abc'))).toString()).toBe('blob');
    expect(seen).toEqual([undefined]);
  }, 30_000);

  it('falls back from a mirror that lacks the content or is down to the registry', async () => {
    const calls: string[] = [];
    const mirror = await serve((q, r) => { calls.push(`mirror ${q.url}`); r.writeHead(q.url === '/v2/' ? 200 : 404).end('{}'); });
    const origin = await serve((q, r) => { calls.push(`origin ${q.url}`); r.end('from origin'); });
    const dead = `127.0.0.1:${await freePort()}`;
    const t = transport(spec(dead, 'http', { mirror: true }), spec(mirror, 'http', { mirror: true }), spec(origin, 'http'));
    expect((await readBody(await get(t, '/v2/a/manifests/latest', true))).toString()).toBe('from origin');
    expect(calls).toEqual(['mirror /v2/', 'mirror /v2/a/manifests/latest', 'origin /v2/', 'origin /v2/a/manifests/latest']);
    calls.length = 0;
    await get(t, '/v2/a/manifests/latest', false).then((r) => readBody(r));
    expect(calls).toEqual(['origin /v2/a/manifests/latest']);
  }, 30_000);

  it('retries 5xx a bounded number of times, then reports the registry error', async () => {
    let n = 0;
    const host = await serve((q, r) => {
      if (q.url === '/v2/') return void r.end('{}');
      n++;
      r.writeHead(503, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"service unavailable"}]}');
    });
    const err = await get(transport(spec(host, 'http')), '/v2/x/manifests/y').catch((e: Error) => e);
    expect(n).toBe(FAST.attempts);
    expect((err as Error).message).toBe('unavailable: service unavailable');
    expect(hasCode(err, 'UNAVAILABLE')).toBe(true);
  }, 30_000);
});

describe('blob download', () => {
  const blob = randomBytes(1 << 20);
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}` as const;
  const desc = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: blob.length };
  const collect = async (t: RegistryTransport) => {
    const parts: Buffer[] = [];
    for await (const c of blobBytes(t, 'x', desc)) parts.push(c);
    return Buffer.concat(parts);
  };
  /** Serves the blob; the first GET is cut after 300 kB; `honorRange` decides how later GETs answer. */
  const flaky = (honorRange: boolean, ranges: string[]) => serve((q, r) => {
    if (q.url === '/v2/') return void r.end('{}');
    const range = q.headers.range;
    if (range) ranges.push(range);
    if (!range) {
      r.writeHead(200, { 'Content-Length': String(blob.length) });
      return void r.write(blob.subarray(0, 300_000), () => r.socket?.destroy());
    }
    const start = Number(/bytes=(\d+)-/.exec(range)![1]);
    if (!honorRange) return void r.writeHead(200, { 'Content-Length': String(blob.length) }).end(blob);
    r.writeHead(206, { 'Content-Range': `bytes ${start}-${blob.length - 1}/${blob.length}`, 'Content-Length': String(blob.length - start) });
    r.end(blob.subarray(start));
  });

  it('resumes with Range after a dropped connection', async () => {
    const ranges: string[] = [];
    const host = await flaky(true, ranges);
    expect((await collect(transport(spec(host, 'http')))).equals(blob)).toBe(true);
    expect(ranges).toHaveLength(1);
    expect(Number(/\d+/.exec(ranges[0]!)![0])).toBeGreaterThan(0);
  }, 30_000);

  it('skips what it already has when the registry ignores Range', async () => {
    const ranges: string[] = [];
    const host = await flaky(false, ranges);
    expect((await collect(transport(spec(host, 'http')))).equals(blob)).toBe(true);
    expect(ranges).toHaveLength(1);
  }, 30_000);

  /** Counts what a handler managed to send before the client hung up. */
  const endless = (sent: { bytes: number; gets: number }) => serve((q, r) => {
    if (q.url === '/v2/') return void r.end('{}');
    sent.gets++;
    r.writeHead(200); // chunked: no length to refuse up front
    const chunk = randomBytes(64 << 10);
    const more = () => {
      // bounded, so a client that never stops cannot make this test fill the disk either
      while (sent.bytes < (256 << 20) && !r.destroyed && r.write(chunk)) sent.bytes += chunk.length;
      if (sent.bytes >= (256 << 20)) r.end();
    };
    r.on('drain', more);
    more();
  });

  it('stops an endless body at the declared size, without a retry', async () => {
    const sent = { bytes: 0, gets: 0 };
    const host = await endless(sent);
    const err = await collect(transport(spec(host, 'http'))).catch((e: Error) => e);
    expect((err as Error).message).toBe(`registry sent more than the ${blob.length} bytes the manifest declares`);
    expect(hasCode(err, 'DIGEST_MISMATCH')).toBe(true);
    expect(sent.bytes).toBeLessThan(blob.length + (8 << 20)); // what was in flight when it hung up
    expect(sent.gets).toBe(1);
  }, 30_000);

  it.each([
    ['a Content-Length above the declared size', { 'Content-Length': String(blob.length + 1) }, `registry says the blob has ${blob.length + 1} bytes, the manifest declares ${blob.length}`],
    ['a Content-Length below the declared size', { 'Content-Length': '10' }, `registry says the blob has 10 bytes, the manifest declares ${blob.length}`],
  ])('refuses %s before reading the body', async (_name, headers, want) => {
    let gets = 0;
    const host = await serve((q, r) => {
      if (q.url === '/v2/') return void r.end('{}');
      gets++;
      r.writeHead(200, headers);
      r.write(blob.subarray(0, 10));
    });
    await expect(collect(transport(spec(host, 'http')))).rejects.toThrow(want);
    expect(gets).toBe(1);
  }, 30_000);

  it('refuses a range answer whose total differs from the declared size', async () => {
    const host = await serve((q, r) => {
      if (q.url === '/v2/') return void r.end('{}');
      if (!q.headers.range) {
        r.writeHead(200, { 'Content-Length': String(blob.length) });
        return void r.write(blob.subarray(0, 300_000), () => r.socket?.destroy());
      }
      r.writeHead(206, { 'Content-Range': `bytes 300000-${blob.length * 2 - 1}/${blob.length * 2}`, 'Content-Length': String(blob.length * 2 - 300_000) });
      r.end();
    });
    await expect(collect(transport(spec(host, 'http')))).rejects.toThrow(`registry says the blob has ${blob.length * 2} bytes, the manifest declares ${blob.length}`);
  }, 30_000);

  it('checks the digest as it streams: a body of the right size but other bytes fails at its end', async () => {
    const other = Buffer.from(blob);
    other[12345]! ^= 1;
    const host = await serve((q, r) => (q.url === '/v2/' ? r.end('{}') : r.writeHead(200, { 'Content-Length': String(other.length) }).end(other)));
    const got: Buffer[] = [];
    const err = await (async () => { for await (const c of blobBytes(transport(spec(host, 'http')), 'x', desc)) got.push(c); })().catch((e: Error) => e);
    expect((err as Error).message).toBe(`digest mismatch: want ${digest}, got sha256:${createHash('sha256').update(other).digest('hex')}`);
    expect(Buffer.concat(got).length).toBe(blob.length); // every byte was handed on before the verdict
  }, 30_000);
});

describe('deadlines', () => {
  const small = randomBytes(4096);
  const desc = { mediaType: 'x', digest: `sha256:${createHash('sha256').update(small).digest('hex')}` as const, size: small.length };
  /** Sends the head at once, then one byte every 50 ms: never idle, never done. */
  const trickle = (gets: string[]) => serve((q, r) => {
    if (q.url === '/v2/') return void r.end('{}');
    gets.push(q.headers.range ?? '');
    r.writeHead(200, { 'Content-Length': String(small.length) });
    let i = 0;
    const timer = setInterval(() => (r.destroyed || i >= small.length ? clearInterval(timer) : r.write(small.subarray(i, ++i))), 50);
    r.on('close', () => clearInterval(timer));
  });
  const drain = async (it: AsyncIterable<Buffer>) => { for await (const _ of it); };

  it('gives up on a trickling blob at its deadline, resumes, and fails after the bounded attempts', async () => {
    const gets: string[] = [];
    const host = await trickle(gets);
    const t = new RegistryTransport('test', [spec(host, 'http')], { connectMs: 1000, idleMs: 5000, requestMs: 500 }, FAST);
    const t0 = Date.now();
    // 0.5 s, plus the bytes still missing at 16 KiB/s
    await expect(drain(blobBytes(t, 'x', desc))).rejects.toThrow(/^talking to test: no complete answer within 0\.7 s \(LAMINA_REQUEST_TIMEOUT\)$/);
    expect(gets).toHaveLength(FAST.attempts);
    expect(gets.slice(1).every((g) => /^bytes=[1-9]\d*-$/.test(g))).toBe(true); // each retry resumed where the last stopped
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 30_000);

  it('gives up on a trickling manifest at the request deadline', async () => {
    const host = await trickle([]);
    const t = new RegistryTransport('test', [spec(host, 'http')], { connectMs: 1000, idleMs: 5000, requestMs: 300 }, FAST);
    const t0 = Date.now();
    const res = await get(t, '/v2/x/manifests/latest');
    await expect(readBody(res)).rejects.toThrow('no complete answer within 0.3 s (LAMINA_REQUEST_TIMEOUT)');
    expect(Date.now() - t0).toBeLessThan(2000);
  }, 30_000);

  it('stops everything at the overall deadline, retries included', async () => {
    const gets: string[] = [];
    const host = await trickle(gets);
    const t = new RegistryTransport('test', [spec(host, 'http')], { connectMs: 1000, idleMs: 5000, requestMs: 500, totalMs: 1200 }, FAST);
    const t0 = Date.now();
    const err = await drain(blobBytes(t, 'x', desc)).catch((e: Error) => e);
    expect((err as Error).message).toBe('gave up after 1.2 s (LAMINA_COMMAND_TIMEOUT)');
    expect(hasCode(err, 'UNAVAILABLE')).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1150);
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(gets.length).toBeLessThan(FAST.attempts);
    await expect(get(t, '/v2/x/manifests/latest')).rejects.toThrow('gave up after 1.2 s (LAMINA_COMMAND_TIMEOUT)');
  }, 30_000);
});

describe('timeouts', () => {
  it('gives up on a TLS handshake that never completes, and on a server that never answers', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((sock) => void sockets.push(sock)); // accepts, then says nothing
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const t = (scheme: 'http' | 'https') => new RegistryTransport('test', [spec(host, scheme)], { connectMs: 300, idleMs: 300, requestMs: 5000 }, FAST);
      let t0 = Date.now();
      await expect(get(t('https'), '/v2/')).rejects.toThrow(`talking to ${host}: connection timed out after 300 ms`);
      expect(Date.now() - t0).toBeLessThan(3_000);
      t0 = Date.now();
      await expect(get(t('http'), '/v2/')).rejects.toThrow(`talking to ${host}: no data received for 300 ms`);
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  }, 30_000);
});
