// In-process node:http(s) servers that sit between lamina and a test registry on 127.0.0.1:
//
// - faultProxy: forwards to the registry, and per request (a Policy) answers 503/500,
//   drops or stalls a body after 256 KiB, or flips one byte of the body; optional TLS
//   front and throttling; logs every request.
// - tokenProxy: a token server plus a proxy that demands its (opaque) Bearer tokens, in
//   front of a registry without auth (the registry itself verifying JWTs is tested with
//   docker-registry's `auth: token:` in registry-auth.test.ts).
//
// Both listen on 127.0.0.1:0 in the test process; close() drops open connections and
// stops listening. Nothing here talks to anything but 127.0.0.1.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/** What the proxy does to one request. */
export type Fault =
  | 'pass'
  | '503' // answer 503 itself
  | '500' // answer 500 itself
  | 'drop' // forward, cut the connection after 256 KiB of body
  | 'stall' // forward, send nothing more after 256 KiB of body (connection stays open)
  | 'corrupt'; // forward, flipping one byte in the middle of the body (same length)

export interface Logged {
  method: string;
  url: string;
  range?: string;
  contentRange?: string;
  /** Status sent to the client. */
  status?: number;
  /** Offset of the flipped byte ('corrupt'). */
  flipped?: number;
}

/** Decides the fault for a request; `n` counts requests from 1. */
export type Policy = (req: http.IncomingMessage, n: number) => Fault;

/** Where to forward: a registry (or anything with a loopback port). */
export interface Target {
  port: number;
}

export interface ProxyOptions {
  /** Pace blob GETs at about 50 MB/s (20 ms per MiB). */
  throttle?: boolean;
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string; cert: string };
}

export interface FaultProxy {
  /** '127.0.0.1:PORT' */
  host: string;
  log: Logged[];
  ref(name: string): string;
  close(): Promise<void>;
}

export const isBlobGet = (r: { method?: string; url?: string }) => r.method === 'GET' && /\/blobs\/sha256:/.test(r.url ?? '');

const CUT_AFTER = 256 << 10;

function listen(server: http.Server | https.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function closer(server: http.Server | https.Server): () => Promise<void> {
  let closed: Promise<void> | undefined;
  return () =>
    (closed ??= new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }));
}

/** Forward to the target, keeping Host so that its Location headers point back at the proxy. */
function forward(target: Target, req: http.IncomingMessage, res: http.ServerResponse, fault: Fault, log: Logged, throttle: boolean): void {
  const up = http.request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
    log.status = ur.statusCode;
    res.writeHead(ur.statusCode!, ur.headers);
    const length = Number(ur.headers['content-length'] ?? NaN);
    // The middle of the body, or byte 1000 when the length is unknown.
    const flipAt = fault === 'corrupt' && ur.statusCode! < 300 ? (Number.isFinite(length) && length > 0 ? Math.floor(length / 2) : 1000) : -1;
    let sent = 0;
    ur.on('data', (chunk: Buffer) => {
      let c = chunk;
      if (flipAt >= sent && flipAt < sent + c.length) {
        c = Buffer.from(c);
        c[flipAt - sent]! ^= 0xff;
        log.flipped = flipAt;
      }
      sent += c.length;
      if ((fault === 'drop' || fault === 'stall') && sent > CUT_AFTER) {
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

/** A proxy in front of `target` applying `policy` to every request. */
export async function faultProxy(target: Target, policy: Policy, opts: ProxyOptions = {}): Promise<FaultProxy> {
  const log: Logged[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const entry: Logged = { method: req.method!, url: req.url!, range: req.headers.range, contentRange: req.headers['content-range'] as string | undefined };
    log.push(entry);
    const fault = policy(req, log.length);
    if (fault === '503' || fault === '500') {
      entry.status = Number(fault);
      req.resume();
      const body = fault === '503' ? 'try later' : 'internal error';
      return void res.writeHead(entry.status, { 'Content-Type': 'text/plain', 'Content-Length': String(body.length) }).end(body);
    }
    forward(target, req, res, fault, entry, !!opts.throttle && isBlobGet(req));
  };
  const server = opts.tls ? https.createServer(opts.tls, handler) : http.createServer(handler);
  const host = await listen(server);
  return { host, log, ref: (name: string) => `${host}/${name}`, close: closer(server) };
}

/** `fault` for the first `times` GETs of the blob `digest`, 'pass' for everything else. */
export function blobGets(digest: string, fault: Fault, times = 1): Policy {
  let done = 0;
  return (req) => {
    if (done >= times || !isBlobGet(req) || !req.url!.endsWith(digest)) return 'pass';
    done++;
    return fault;
  };
}

/** `fault` for the first GET of the blob `digest` only. */
export const firstGetOf = (digest: string, fault: Fault): Policy => blobGets(digest, fault, 1);

export interface TokenProxy {
  host: string;
  /** Query of every token request. */
  tokenRequests: URLSearchParams[];
  close(): Promise<void>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/**
 * A token server (`/token`, opaque random tokens) plus a proxy that demands them, in front
 * of `target` (a registry without auth). Anonymous clients get pull scopes only; `creds`
 * (Basic, on the token request) get push too; wrong credentials get 401.
 */
export async function tokenProxy(target: Target, creds: { user: string; pass: string }): Promise<TokenProxy> {
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
    const ok = req.headers.authorization?.startsWith('Bearer ') && (!repo || granted.some((g) => g.startsWith(`repository:${repo}:`) && g.includes(action)));
    if (!ok) {
      req.resume();
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
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  });
  const host = await listen(server);
  return { host, tokenRequests, close: closer(server) };
}
