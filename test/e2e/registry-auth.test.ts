// Registry auth: htpasswd (Basic) on Debian's docker-registry; the Bearer token flow with
// docker-registry itself verifying JWTs (`auth: token:`) from a small issuer written here;
// and the same flow through an opaque-token proxy (test/helpers/registry-proxy.ts).
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildOciLayout } from '../helpers/images.js';
import { lamina, laminaOk, tempDir } from '../helpers/lamina.js';
import { runOk, type RunResult } from '../helpers/proc.js';
import { tokenProxy, type TokenProxy } from '../helpers/registry-proxy.js';
import { freePort, startRegistry, type Registry } from '../helpers/registry.js';

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

describe('Bearer token flow', () => {
  let registry: Registry;
  let proxy: TokenProxy;
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

// ---------------------------------------------------------------------------------------
// Token auth verified by the registry: distribution's `auth: token:` checks each Bearer JWT
// itself (signature by a key of `rootcertbundle`, iss, aud = service, exp/nbf, and the
// `access` claim against the request). The issuer below signs ES256 JWTs with a P-256 key
// from node:crypto whose self-signed certificate (openssl req -x509) is the bundle.

interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** A signing key and its self-signed certificate. */
interface SigningKey {
  key: KeyObject;
  /** base64 DER of the certificate, for the `x5c` header. */
  certDer: string;
  /** libtrust key ID of the public key, for the `kid` header. */
  kid: string;
  certPem: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32(b: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** libtrust's KeyID: the first 240 bits of SHA-256(DER SPKI), base32, in groups of 4 joined by ':'. */
function libtrustKeyId(key: KeyObject): string {
  const spki = key.export({ type: 'spki', format: 'der' });
  return base32(createHash('sha256').update(spki).digest().subarray(0, 30)).match(/.{4}/g)!.join(':');
}

async function signingKey(dir: string, name: string): Promise<SigningKey> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.crt`);
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await runOk('openssl', ['req', '-x509', '-new', '-key', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`], { timeout: 30_000 });
  const certPem = await readFile(certFile, 'utf8');
  return { key: privateKey, certDer: new X509Certificate(certPem).raw.toString('base64'), kid: libtrustKeyId(publicKey), certPem };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** A compact JWS (ES256: the signature is r||s, 64 bytes). */
function jwt(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }))}`;
}

interface TokenIssuer {
  port: number;
  realm: string;
  service: string;
  issuer: string;
  /** How tokens name their key: an x5c chain, a libtrust kid, or signed by a key the registry does not trust. */
  mode: 'x5c' | 'kid' | 'forged';
  /** PEM of the trusted certificate: the registry's rootcertbundle. */
  bundle: string;
  requests: Array<{ user?: string; scopes: string[]; service: string | null; granted: Access[] }>;
  mint(access: Access[], o?: { key?: SigningKey; audience?: string }): string;
  close(): Promise<void>;
}

/**
 * `GET /token?service=…&scope=…` with optional Basic credentials. Policy: anyone may pull
 * `public/*`; `users` may pull and push everything and list the catalog; wrong credentials
 * get 401. Denied scopes are left out of the token (as Docker Hub does), not refused.
 */
async function tokenIssuer(dir: string, users: Record<string, string>): Promise<TokenIssuer> {
  const trusted = await signingKey(dir, 'lamina-token-issuer');
  const rogue = await signingKey(dir, 'rogue-issuer');
  const port = await freePort();
  const service = 'lamina-registry';
  const issuerName = 'lamina-test-issuer';
  const grant = (scope: string, user: string | undefined): Access | undefined => {
    const parts = scope.split(':');
    if (parts.length < 3) return undefined;
    const type = parts[0]!;
    const actions = parts.pop()!.split(',');
    const name = parts.slice(1).join(':');
    if (type !== 'repository') return user ? { type, name, actions } : undefined;
    const allowed = user ? actions : actions.filter((a) => a === 'pull' && name.startsWith('public/'));
    return allowed.length ? { type, name, actions: allowed } : undefined;
  };
  const self: TokenIssuer = {
    port, realm: `http://127.0.0.1:${port}/token`, service, issuer: issuerName, mode: 'x5c', bundle: trusted.certPem, requests: [],
    mint(access, o = {}) {
      const k = o.key ?? (self.mode === 'forged' ? rogue : trusted);
      const header = { typ: 'JWT', alg: 'ES256', ...(self.mode === 'kid' ? { kid: k.kid } : { x5c: [k.certDer] }) };
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: issuerName, sub: '', aud: o.audience ?? service, exp: now + 300, nbf: now - 5, iat: now, jti: randomBytes(8).toString('hex'), access };
      return jwt(header, claims, k.key);
    },
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== '/token') return void res.writeHead(404).end();
    let user: string | undefined;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (basic) {
      const [u, ...rest] = Buffer.from(basic, 'base64').toString('utf8').split(':');
      if (!u || users[u] === undefined || users[u] !== rest.join(':')) {
        return void res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"incorrect username or password"}');
      }
      user = u;
    }
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    const granted = scopes.map((s) => grant(s, user)).filter((a): a is Access => a !== undefined);
    self.requests.push({ user, scopes, service: url.searchParams.get('service'), granted });
    const token = self.mint(granted);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  self.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return self;
}

describe('token auth verified by docker-registry (auth: token)', () => {
  let registry: Registry;
  let issuer: TokenIssuer;
  let tokDir: string;
  const user = 'lamina';
  const pass = randomBytes(9).toString('base64url');
  const pub = () => registry.ref('public/app:latest');
  const priv = () => registry.ref('private/app:latest');
  const images = async () => (await laminaOk(root, ['images', '-q'])).trim();

  beforeAll(async () => {
    tokDir = path.join(work, 'token-auth');
    await mkdir(tokDir, { recursive: true });
    issuer = await tokenIssuer(tokDir, { [user]: pass });
    const bundle = path.join(tokDir, 'bundle.pem');
    await writeFile(bundle, issuer.bundle);
    registry = await startRegistry({ token: { realm: issuer.realm, service: issuer.service, issuer: issuer.issuer, rootCertBundle: bundle } });
    await skopeoPush(pub(), `${user}:${pass}`);
    await skopeoPush(priv(), `${user}:${pass}`);
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
    await issuer?.close();
  }, 30_000);
  beforeEach(() => {
    if (!issuer) return;
    issuer.mode = 'x5c';
    issuer.requests.length = 0;
  });

  it('the registry checks the tokens itself: none, forged, wrong audience or too little access is 401', async () => {
    const url = `${registry.url}/v2/private/app/manifests/latest`;
    const accept = 'application/vnd.oci.image.manifest.v1+json';
    const get = async (token?: string) => {
      const res = await fetch(url, { headers: { Accept: accept, ...(token ? { Authorization: `Bearer ${token}` } : {}) }, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '' };
    };
    const none = await get();
    expect(none.status).toBe(401);
    expect(none.challenge).toBe(`Bearer realm="${issuer.realm}",service="${issuer.service}",scope="repository:private/app:pull"`);
    const access = [{ type: 'repository', name: 'private/app', actions: ['pull'] }];
    expect((await get(issuer.mint(access))).status).toBe(200);
    issuer.mode = 'kid';
    expect((await get(issuer.mint(access))).status).toBe(200);
    issuer.mode = 'forged';
    expect((await get(issuer.mint(access))).challenge).toMatch(/error="invalid_token"/);
    issuer.mode = 'x5c';
    expect((await get(issuer.mint(access, { audience: 'another-registry' }))).challenge).toMatch(/error="invalid_token"/);
    const tooLittle = await get(issuer.mint([{ type: 'repository', name: 'public/app', actions: ['pull'] }]));
    expect(tooLittle.status).toBe(401);
    expect(tooLittle.challenge).toMatch(/error="insufficient_scope"/);
  }, 60_000);

  it.each(['x5c', 'kid'] as const)('pulls a public repository anonymously with JWTs the registry verifies (%s header)', async (mode) => {
    issuer.mode = mode;
    expect(await laminaOk(root, ['pull', '-q', pub()], { env })).toBe(`${pub()}\n`);
    expect(issuer.requests.length).toBeGreaterThan(0);
    expect(issuer.requests.every((r) => r.user === undefined && r.service === issuer.service)).toBe(true);
    expect(issuer.requests.map((r) => r.scopes.join(' '))).toContain('repository:public/app:pull');
    const [info] = JSON.parse(await laminaOk(root, ['inspect', pub()]));
    const want = JSON.parse((await runOk('skopeo', ['inspect', '--config', '--tls-verify=false', '--creds', `${user}:${pass}`, `docker://${pub()}`])).stdout);
    expect(info.RootFS.Layers).toEqual(want.rootfs.diff_ids);
  }, 60_000);

  it('refuses an anonymous pull whose scope the issuer denies, and keeps nothing', async () => {
    const r = await lamina(root, ['pull', priv()], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: pull ${priv()}: unauthorized: authentication required\nhint: run: lamina login ${registry.host}\n`);
    expect(issuer.requests.map((q) => q.scopes.join(' '))).toContain('repository:private/app:pull');
    expect(issuer.requests.every((q) => q.granted.length === 0 || q.scopes.length === 0)).toBe(true);
    expect(await images()).toBe('');
  }, 60_000);

  it('refuses tokens signed by a key outside rootcertbundle', async () => {
    issuer.mode = 'forged';
    const r = await lamina(root, ['pull', pub()], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: pull ${pub()}: unauthorized: authentication required\nhint: run: lamina login ${registry.host}\n`);
    expect(await images()).toBe('');
  }, 60_000);

  it('login checks the password with the issuer; then pull and push go through Bearer tokens', async () => {
    const bad = await lamina(root, ['login', '-u', user, '--password-stdin', registry.host], { env, input: 'wrong' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`error: login ${registry.host}: unauthorized: incorrect username or password\nhint: check the credentials saved for ${registry.host}\n`);
    await expect(stat(configFile())).rejects.toThrow(/ENOENT/);

    expect(await laminaOk(root, ['login', '-u', user, '--password-stdin', registry.host], { env, input: pass })).toBe('Login Succeeded\n');
    expect((await readConfig()).auths[registry.host]).toEqual({ auth: b64(`${user}:${pass}`) });
    noSecret(await laminaOk(root, ['pull', priv()], { env }), pass);
    expect(issuer.requests.some((q) => q.user === user && q.scopes.includes('repository:private/app:pull') && q.granted.length === 1)).toBe(true);

    // push: blobs mounted from private/app (one token for both repositories), then the manifest
    const dst = registry.ref('private/copy:1');
    await laminaOk(root, ['tag', priv(), dst]);
    const out = await laminaOk(root, ['push', dst], { env });
    noSecret(out, pass);
    expect(out).toMatch(/: Mounted from private\/app$/m);
    const digest = /^1: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(out)?.[1];
    const skopeoDigest = (await runOk('skopeo', ['inspect', '--tls-verify=false', '--creds', `${user}:${pass}`, '--format', '{{.Digest}}', `docker://${dst}`])).stdout.trim();
    expect(digest).toBe(skopeoDigest);
    expect(issuer.requests.some((q) => q.user === user && q.scopes.includes('repository:private/copy:pull,push') && q.scopes.includes('repository:private/app:pull'))).toBe(true);

    // a new blob goes up through POST/PUT with a push token
    const fresh = path.join(work, 'token-fresh');
    await buildOciLayout(fresh, [async (rootfs) => writeFile(path.join(rootfs, 'new'), randomBytes(64).toString('hex'))]);
    const loaded = (await laminaOk(root, ['load', '-i', fresh])).trim().split(' ').pop()!;
    const dst2 = registry.ref('private/new:1');
    await laminaOk(root, ['tag', loaded, dst2]);
    const out2 = await laminaOk(root, ['push', dst2], { env });
    expect(out2).toMatch(/^[0-9a-f]{12}: Pushed$/m);
    const pulledBack = path.join(work, `fresh-${n}`);
    await laminaOk(pulledBack, ['pull', '-q', dst2], { env });
    const [a] = JSON.parse(await laminaOk(root, ['inspect', dst2]));
    const [b] = JSON.parse(await laminaOk(pulledBack, ['inspect', dst2]));
    expect(b.Id).toBe(a.Id);
  }, 120_000);
});
