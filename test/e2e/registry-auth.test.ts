// Registry auth: htpasswd (Basic) on Debian's docker-registry, and the Bearer token flow
// through a small token server + proxy in front of a registry without auth.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildOciLayout } from '../helpers/images.js';
import { lamina, laminaOk, tempDir } from '../helpers/lamina.js';
import { runOk, type RunResult } from '../helpers/proc.js';
import { startRegistry, type Registry } from '../helpers/registry.js';

let work: string;
let cleanup: () => Promise<void>;
let layout: string;
let root: string;
let dockerDir: string;
let env: NodeJS.ProcessEnv;
let n = 0;

const configFile = () => path.join(dockerDir, 'config.json');
const readConfig = async () => JSON.parse(await readFile(configFile(), 'utf8'));
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function skopeoPush(ref: string, creds?: string): Promise<void> {
  await runOk('skopeo', ['copy', '-q', '--dest-tls-verify=false', ...(creds ? ['--dest-creds', creds] : []), `oci:${layout}:latest`, `docker://${ref}`], { timeout: 120_000 });
}

function noSecret(r: RunResult | string, secret: string): void {
  const text = typeof r === 'string' ? r : r.stdout + r.stderr;
  expect(text).not.toContain(secret);
  expect(text).not.toContain(b64(`lamina:${secret}`));
}

beforeAll(async () => {
  ({ dir: work, cleanup } = await tempDir('lamina-auth-'));
  layout = path.join(work, 'layout');
  await buildOciLayout(layout, [async (rootfs) => writeFile(path.join(rootfs, 'f'), 'f\n')]);
}, 120_000);
afterAll(async () => cleanup?.(), 30_000);
beforeEach(() => {
  root = path.join(work, `store-${++n}`);
  dockerDir = path.join(work, `docker-${n}`);
  env = { DOCKER_CONFIG: dockerDir };
});

describe('htpasswd registry (Basic auth)', () => {
  let registry: Registry;
  let user: string;
  let pass: string;
  let ref: string;
  beforeAll(async () => {
    registry = await startRegistry({ auth: true });
    ({ username: user, password: pass } = registry.auth!);
    ref = registry.ref('lamina/secret:latest');
    await skopeoPush(ref, `${user}:${pass}`);
  }, 60_000);
  afterAll(async () => registry?.stop(), 30_000);

  it('pull without login fails with "unauthorized: authentication required"', async () => {
    const r = await lamina(root, ['pull', ref], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: pull ${ref}: unauthorized: authentication required\nhint: run: lamina login ${registry.host}\n`);
  }, 60_000);

  it('login with a wrong password fails clearly and saves nothing', async () => {
    const r = await lamina(root, ['login', '-u', user, '-p', 'wrong-password', registry.host], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: login ${registry.host}: unauthorized: incorrect username or password`);
    noSecret(r, 'wrong-password');
    await expect(stat(configFile())).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it('login writes config.json 0600 in a 0700 dir; pull and push then work; logout removes it', async () => {
    const r = await lamina(root, ['login', '-u', user, '-p', pass, registry.host], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Login Succeeded\n');
    expect(r.stderr).toMatch(/WARNING! Using --password via the CLI is insecure/);
    noSecret(r, pass);
    expect((await stat(configFile())).mode & 0o777).toBe(0o600);
    expect((await stat(dockerDir)).mode & 0o777).toBe(0o700);
    expect((await readConfig()).auths[registry.host]).toEqual({ auth: b64(`${user}:${pass}`) });
    noSecret(await laminaOk(root, ['pull', ref], { env }), pass);
    const pushed = registry.ref('lamina/pushed-back:1');
    await laminaOk(root, ['tag', ref, pushed]);
    const out = await laminaOk(root, ['push', pushed], { env });
    expect(out).toMatch(/^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    expect(await laminaOk(root, ['logout', registry.host], { env })).toBe(`Removing login credentials for ${registry.host}\n`);
    expect((await readConfig()).auths).toEqual({});
    expect(await laminaOk(root, ['logout', registry.host], { env })).toBe(`Not logged in to ${registry.host}\n`);
    const again = await lamina(path.join(work, `fresh-${n}`), ['pull', ref], { env });
    expect(again.stderr).toMatch(/unauthorized: authentication required/);
  }, 120_000);

  it('--password-stdin keeps the other keys of an existing config.json', async () => {
    await mkdir(dockerDir, { recursive: true });
    const other = { auths: { 'other.example.com': { auth: b64('a:b') } }, psFormat: 'table {{.ID}}' };
    await writeFile(configFile(), JSON.stringify(other), { mode: 0o644 });
    const r = await lamina(root, ['login', '--username', user, '--password-stdin', registry.host], { env, input: `${pass}\n` });
    expect(r.stdout).toBe('Login Succeeded\n');
    expect(r.stderr).toBe('');
    const cfg = await readConfig();
    expect(cfg.psFormat).toBe(other.psFormat);
    expect(cfg.auths['other.example.com']).toEqual(other.auths['other.example.com']);
    expect(cfg.auths[registry.host].auth).toBe(b64(`${user}:${pass}`));
    expect((await stat(configFile())).mode & 0o777).toBe(0o600);
  }, 60_000);

  it('honors credentials docker saved (http:// key form)', async () => {
    await mkdir(dockerDir, { recursive: true });
    await writeFile(configFile(), JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: b64(`${user}:${pass}`) } } }));
    expect(await laminaOk(root, ['pull', '-q', ref], { env })).toBe(`${ref}\n`);
  }, 60_000);

  it('saved but wrong credentials fail without leaking them', async () => {
    await mkdir(dockerDir, { recursive: true });
    await writeFile(configFile(), JSON.stringify({ auths: { [registry.host]: { auth: b64(`${user}:stale-secret`) } } }));
    const r = await lamina(root, ['pull', ref], { env });
    expect(r.stderr).toMatch(/^error: pull .*: unauthorized: incorrect username or password\n/);
    noSecret(r, 'stale-secret');
  }, 60_000);
});

/** A token server plus a proxy that demands its tokens, in front of a registry without auth. */
async function tokenProxy(target: Registry, creds: { user: string; pass: string }) {
  const tokens = new Map<string, string[]>();
  const tokenRequests: URLSearchParams[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/token') {
      tokenRequests.push(url.searchParams);
      const scopes = url.searchParams.getAll('scope');
      const authed = req.headers.authorization === `Basic ${b64(`${creds.user}:${creds.pass}`)}`;
      if (req.headers.authorization && !authed) return void res.writeHead(401).end('{"details":"incorrect username or password"}');
      const granted = scopes.filter((s) => authed || !s.includes('push'));
      const token = randomBytes(12).toString('hex');
      tokens.set(token, granted);
      return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
    }
    const repo = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(url.pathname)?.[1];
    const action = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
    const scope = repo ? `repository:${repo}:${action}` : '';
    const granted = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, '')) ?? [];
    const ok = granted !== undefined && req.headers.authorization?.startsWith('Bearer ') && (!repo || granted.some((g) => g.startsWith(`repository:${repo}:`) && g.includes(action)));
    if (!ok) {
      const realm = `http://${req.headers.host}/token`;
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="${realm}",service="lamina-test"${scope ? `,scope="${scope}"` : ''}`, 'Content-Type': 'application/json' });
      return void res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const up = http.request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers }, (ur) => {
      res.writeHead(ur.statusCode!, ur.headers);
      ur.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, tokenRequests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('Bearer token flow', () => {
  let registry: Registry;
  let proxy: Awaited<ReturnType<typeof tokenProxy>>;
  const creds = { user: 'tok', pass: randomBytes(9).toString('hex') };
  beforeAll(async () => {
    registry = await startRegistry();
    await skopeoPush(registry.ref('lamina/tok:latest'));
    proxy = await tokenProxy(registry, creds);
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await registry?.stop();
  }, 30_000);

  it('pulls anonymously with a token scoped to the repository', async () => {
    const ref = `${proxy.host}/lamina/tok:latest`;
    expect(await laminaOk(root, ['pull', '-q', ref], { env })).toBe(`${ref}\n`);
    const scopes = proxy.tokenRequests.map((q) => q.getAll('scope').join(' '));
    expect(scopes).toContain('repository:lamina/tok:pull');
    expect(proxy.tokenRequests.every((q) => q.get('service') === 'lamina-test')).toBe(true);
  }, 60_000);

  it('push needs credentials: refused anonymously, accepted after login, wrong password is clear', async () => {
    const src = `${proxy.host}/lamina/tok:latest`;
    const dst = `${proxy.host}/lamina/tok-pushed:1`;
    await laminaOk(root, ['pull', '-q', src], { env });
    await laminaOk(root, ['tag', src, dst]);
    const anon = await lamina(root, ['push', dst], { env });
    expect(anon.code).toBe(1);
    expect(anon.stderr).toMatch(/unauthorized: authentication required/);
    const bad = await lamina(root, ['login', '-u', creds.user, '--password-stdin', proxy.host], { env, input: 'nope' });
    expect(bad.stderr).toContain(`error: login ${proxy.host}: unauthorized: incorrect username or password`);
    await laminaOk(root, ['login', '-u', creds.user, '--password-stdin', proxy.host], { env, input: creds.pass });
    const out = await laminaOk(root, ['push', dst], { env });
    expect(out).toMatch(/^1: digest: sha256:/m);
    noSecret(out, creds.pass);
    expect(proxy.tokenRequests.some((q) => q.getAll('scope').includes('repository:lamina/tok-pushed:pull,push'))).toBe(true);
  }, 60_000);
});
