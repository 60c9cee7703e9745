/** The one HTTP path of the registry client: node:http/https with keep-alive, timeouts and optional unverified TLS. */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { ImgError } from '../store/errors.js';

export interface Timeouts {
  /** Milliseconds to establish a connection (TCP and TLS). */
  connectMs: number;
  /** Milliseconds without any byte received before a request or a body read is abandoned. */
  idleMs: number;
  /**
   * Milliseconds from a request's last byte sent to its answer's last byte received: a
   * server that trickles a byte now and then never trips idleMs. Blob downloads get more
   * (see download.ts).
   */
  requestMs: number;
  /** Milliseconds for everything one transport does (a whole pull); undefined for no limit. */
  totalMs?: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 15_000, idleMs: 60_000, requestMs: 60_000 };

/** When an exchange must be over, and the error it fails with otherwise. */
export interface Deadline {
  ms: number;
  error: () => Error;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Accept any certificate (insecure registries only). */
  insecureTls?: boolean;
  /** Counted from the end of the request; default `requestMs` of the timeouts. */
  deadline?: Deadline;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  url: URL;
  body: IncomingMessage;
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
  httpsInsecure: new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false }),
};

function agentFor(req: HttpRequest): http.Agent {
  if (req.url.protocol === 'http:') return agents.http;
  return req.insecureTls ? agents.httpsInsecure : agents.https;
}

/** A network failure Node reports with this code, e.g. ECONNREFUSED or a TLS code. */
export class NetworkError extends Error {
  constructor(readonly code: string, message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'NetworkError';
  }
}

function toNetworkError(err: unknown): Error {
  if (err instanceof NetworkError || err instanceof ImgError) return err;
  const e = err as NodeJS.ErrnoException;
  return new NetworkError(e?.code ?? 'UNKNOWN', e?.message ?? String(err), { cause: err });
}

/** Abort the request when connecting takes longer than `ms` (a reused socket is already connected). */
function guardConnect(req: http.ClientRequest, ms: number): void {
  req.once('socket', (socket) => {
    if (!socket.connecting) return;
    const timer = setTimeout(() => req.destroy(new NetworkError('ETIMEDOUT', `connection timed out after ${ms} ms`)), ms);
    const done = () => clearTimeout(timer);
    socket.once(req.protocol === 'https:' ? 'secureConnect' : 'connect', done);
    socket.once('close', done);
  });
}

/** The per-request deadline of `t`, failing with a message that names the knob. */
export function requestDeadline(ms: number): Deadline {
  return { ms, error: () => new NetworkError('ETIMEDOUT', `no complete answer within ${seconds(ms)} (LAMINA_REQUEST_TIMEOUT)`) };
}

export const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`;

/** setTimeout fires at once for longer delays (a 40 GB blob's deadline is longer). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Fail the exchange once `d` passes after the request is sent: before the answer's head
 * arrives the request errors, after it the body does (with the same error, so that the
 * reader sees why, not a bare connection reset).
 */
function guardDeadline(r: http.ClientRequest, d: Deadline): void {
  let res: IncomingMessage | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => clearTimeout(timer);
  r.once('finish', () => {
    timer = setTimeout(() => {
      if (!res) r.destroy(d.error());
      else if (!res.complete) res.destroy(d.error()); // a complete body waiting for its reader is in time
    }, Math.min(Math.max(0, d.ms), MAX_TIMER_MS));
  });
  r.once('response', (m: IncomingMessage) => {
    res = m;
    m.once('end', stop);
    m.once('close', stop);
  });
  r.once('close', () => { if (!res) stop(); });
}

/** Send one request; resolves when the response head arrives. The caller must consume or destroy `body`. */
export function send(req: HttpRequest, t: Timeouts = DEFAULT_TIMEOUTS): Promise<HttpResponse> {
  const mod = req.url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const r = mod.request(req.url, { method: req.method, headers: req.headers, agent: agentFor(req) });
    guardConnect(r, t.connectMs);
    guardDeadline(r, req.deadline ?? requestDeadline(t.requestMs));
    r.setTimeout(t.idleMs, () => r.destroy(new NetworkError('ETIMEDOUT', `no data received for ${t.idleMs} ms`)));
    r.once('error', (err) => reject(toNetworkError(err)));
    r.once('response', (res) => {
      // The socket's idle timer keeps running while the body streams; surface it as a body error.
      res.once('error', () => undefined);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url: req.url, body: res });
    });
    if (!req.body) r.end();
    else if (Buffer.isBuffer(req.body)) r.end(req.body);
    else {
      req.body.once('error', (err) => r.destroy(err));
      req.body.pipe(r);
    }
  });
}

/** Read a whole body, refusing more than `limit` bytes. */
export async function readBody(res: HttpResponse, limit = 8 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.body) {
      n += (c as Buffer).length;
      if (n > limit) throw new ImgError('INVALID_ARGUMENT', `response from ${res.url.host} larger than ${limit} bytes`);
      parts.push(c as Buffer);
    }
  } catch (err) {
    res.body.destroy();
    throw toNetworkError(err);
  }
  return Buffer.concat(parts);
}

/** Throw away a body we do not need, so its socket can be reused. */
export function discardBody(res: HttpResponse): void {
  const length = Number(header(res, 'content-length') ?? Infinity);
  // Reading a small body keeps the socket (a received body still has to be read to free it); a large one is cheaper to drop.
  if (res.body.complete || length <= 64 << 10) res.body.resume();
  else res.body.destroy();
}

/** A response header as one string. */
export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}
