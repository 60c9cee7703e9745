/** Talks to one registry: endpoint choice (mirrors, HTTPS then HTTP), auth, redirects and bounded retries. */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Authenticator } from './auth.js';
import type { Credentials } from './credentials.js';
import { isTransientNetwork, networkError, RegistryError, responseError } from './errors.js';
import { ImgError } from '../store/errors.js';
import { discardBody, header, requestDeadline, seconds, send, DEFAULT_TIMEOUTS, type Deadline, type HttpRequest, type HttpResponse, type Timeouts } from './http.js';

/** One way of reaching a registry: a base URL and whether its certificate is checked. */
export interface Base {
  url: URL;
  insecureTls: boolean;
}

export interface EndpointSpec {
  /** Name in messages and credential lookups ('127.0.0.1:5000', a mirror's host). */
  host: string;
  /** Tried in order until one answers at all (HTTPS, then HTTP for insecure registries). */
  bases: Base[];
  credentials?: Credentials;
  mirror: boolean;
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 8_000 };

export interface RegistryRequest {
  method: HttpRequest['method'];
  /** Path under the endpoint (`/v2/…`), or an absolute URL the registry gave us (an upload Location). */
  path: string | URL;
  headers?: Record<string, string>;
  /** A Buffer, or a factory called once per attempt. */
  body?: Buffer | (() => Readable);
  /** Auth scopes, e.g. `repository:foo/bar:pull`. */
  scopes: string[];
  /** Statuses that mean success. Default [200]. */
  ok?: number[];
  /** May be served by a mirror (pulls only). */
  read?: boolean;
  /** False for requests that change upload state; the caller retries the whole operation. */
  retry?: boolean;
  /** Milliseconds for the whole answer instead of the transport's requestMs (a blob download's is longer). */
  deadlineMs?: number;
}

export type RegistryResponse = HttpResponse & { base: URL };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

class Endpoint {
  readonly auth: Authenticator;
  private chosen: Promise<Base> | undefined;

  constructor(readonly spec: EndpointSpec, private readonly t: RegistryTransport) {
    this.auth = new Authenticator(spec.host, spec.credentials, (url, authorization) => t.fetchToken(url, authorization));
  }

  /** The first base that answers `GET /v2/` at all; its challenge primes the authenticator. */
  base(): Promise<Base> {
    this.chosen ??= this.probe().catch((err) => {
      this.chosen = undefined;
      throw err;
    });
    return this.chosen;
  }

  private async probe(): Promise<Base> {
    let last: unknown;
    const bases = this.spec.bases;
    for (const [i, b] of bases.entries()) {
      const lastCandidate = i === bases.length - 1;
      try {
        const probe = () => send({ method: 'GET', url: new URL('/v2/', b.url), insecureTls: b.insecureTls, deadline: this.t.deadline() }, this.t.timeouts);
        const res = await this.t.retrying(probe, lastCandidate);
        if (res.status === 401) this.auth.learn(res);
        discardBody(res);
        return b;
      } catch (err) {
        last = err;
      }
    }
    throw networkError(last, this.spec.host);
  }
}

/** A client for one registry, shared by every request of an operation. */
export class RegistryTransport {
  private readonly endpoints: Endpoint[];
  /** When everything this transport does must be over (Date.now() time). */
  private readonly endsAt: number;

  constructor(
    readonly registry: string,
    specs: EndpointSpec[],
    readonly timeouts: Timeouts = DEFAULT_TIMEOUTS,
    readonly retry: RetryPolicy = DEFAULT_RETRY,
    private readonly insecureHost: (host: string) => boolean = () => false,
  ) {
    this.endpoints = specs.map((s) => new Endpoint(s, this));
    this.endsAt = timeouts.totalMs === undefined ? Infinity : Date.now() + timeouts.totalMs;
  }

  /** The error once the transport's overall time is up: not worth retrying. */
  private expired(): ImgError {
    return new ImgError('UNAVAILABLE', `gave up after ${seconds(this.timeouts.totalMs ?? 0)} (LAMINA_COMMAND_TIMEOUT)`);
  }

  /** Throw when the overall time is up. */
  private checkTime(): void {
    if (Date.now() >= this.endsAt) throw this.expired();
  }

  /** The deadline of one exchange: `ms` (default requestMs), cut short by the overall one. */
  deadline(ms = this.timeouts.requestMs): Deadline {
    const left = this.endsAt - Date.now();
    return left < ms ? { ms: left, error: () => this.expired() } : requestDeadline(ms);
  }

  /** Wait before a retry; never past the overall deadline. */
  private async pause(ms: number): Promise<void> {
    await sleep(Math.min(ms, Math.max(0, this.endsAt - Date.now())));
    this.checkTime();
  }

  /** Send `r`; a non-ok status becomes a RegistryError. Reads fall back from mirrors to the registry. */
  async request(r: RegistryRequest): Promise<RegistryResponse> {
    const candidates = r.read ? this.endpoints : this.endpoints.filter((e) => !e.spec.mirror);
    for (const ep of candidates) {
      try {
        return await this.withRetries(ep, r);
      } catch (err) {
        if (!ep.spec.mirror) throw err;
      }
    }
    throw new Error(`no endpoint for ${this.registry}`);
  }

  /** Run `fn` again after transient network failures, with backoff. */
  async retrying<T>(fn: () => Promise<T>, retry = true): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.checkTime();
      try {
        return await fn();
      } catch (err) {
        if (!retry || !isTransientNetwork(err) || attempt >= this.retry.attempts) throw err;
        await this.pause(this.delay(attempt));
      }
    }
  }

  /** Wait before attempt `attempt + 1` of a transfer the caller retries itself. */
  backoff(attempt: number): Promise<void> {
    return this.pause(this.delay(attempt));
  }

  /** Exponential backoff with jitter, or the server's Retry-After (capped). */
  delay(attempt: number, retryAfter?: string): number {
    const asked = Number(retryAfter);
    if (Number.isFinite(asked) && asked >= 0) return Math.min(asked * 1000, 60_000);
    const d = Math.min(this.retry.baseDelayMs * 2 ** (attempt - 1), this.retry.maxDelayMs);
    return d * (0.8 + Math.random() * 0.4);
  }

  private async withRetries(ep: Endpoint, r: RegistryRequest): Promise<RegistryResponse> {
    const retry = r.retry ?? true;
    for (let attempt = 1; ; attempt++) {
      this.checkTime();
      let res: RegistryResponse;
      try {
        res = await this.authorized(ep, r);
      } catch (err) {
        if (!retry || !isTransientNetwork(err) || attempt >= this.retry.attempts) throw networkError(err, ep.spec.host);
        await this.pause(this.delay(attempt));
        continue;
      }
      if ((r.ok ?? [200]).includes(res.status)) return res;
      const err = await this.failure(ep, res);
      if (!retry || !err.temporary || attempt >= this.retry.attempts) throw err;
      await this.pause(this.delay(attempt, header(res, 'retry-after')));
    }
  }

  private async failure(ep: Endpoint, res: HttpResponse): Promise<RegistryError> {
    const err = await responseError(res);
    if (res.status !== 401) return err;
    const host = ep.spec.host;
    return ep.auth.hasCredentials
      ? new RegistryError('UNAUTHORIZED', 'unauthorized: incorrect username or password', 401, err.codes, { hint: `run: lamina login ${host}` })
      : new RegistryError('UNAUTHORIZED', err.message, 401, err.codes, { hint: `run: lamina login ${host}` });
  }

  /** One attempt, answering a 401 challenge once. */
  private async authorized(ep: Endpoint, r: RegistryRequest): Promise<RegistryResponse> {
    const base = await ep.base();
    const url = typeof r.path === 'string' ? new URL(r.path, base.url) : r.path;
    const sent = await ep.auth.authorization(r.scopes);
    const res = await this.follow(base, url, r, sent);
    if (res.status !== 401 || !(await ep.auth.rejected(res, sent, r.scopes))) return res;
    discardBody(res);
    return this.follow(base, url, r, await ep.auth.authorization(r.scopes));
  }

  /** Send and follow redirects; Authorization never crosses to another host (distribution-spec). */
  private async follow(base: Base, first: URL, r: RegistryRequest, authorization?: string): Promise<RegistryResponse> {
    let url = first;
    let method = r.method;
    for (let hops = 0; ; hops++) {
      const sameHost = url.host === base.url.host;
      const headers = { ...r.headers, ...(authorization && sameHost ? { Authorization: authorization } : {}) };
      const body = method === 'GET' || method === 'HEAD' ? undefined : typeof r.body === 'function' ? r.body() : r.body;
      const insecureTls = sameHost ? base.insecureTls : this.insecureHost(url.host);
      const res = await send({ method, url, headers, body, insecureTls, deadline: this.deadline(r.deadlineMs) }, this.timeouts);
      const location = header(res, 'location');
      if (!REDIRECTS.has(res.status) || !location || hops >= MAX_REDIRECTS || (method !== 'GET' && method !== 'HEAD')) {
        return Object.assign(res, { base: base.url });
      }
      discardBody(res);
      url = new URL(location, url);
      if (res.status === 303) method = 'GET';
    }
  }

  /** GET a token URL (a realm may live on another host). */
  async fetchToken(url: URL, authorization?: string): Promise<HttpResponse> {
    const headers = authorization ? { Authorization: authorization } : undefined;
    try {
      return await this.retrying(() => send({ method: 'GET', url, headers, insecureTls: this.insecureHost(url.host), deadline: this.deadline() }, this.timeouts));
    } catch (err) {
      throw networkError(err, url.host);
    }
  }
}
