/** Registry auth: WWW-Authenticate challenges, Basic credentials and the Bearer token flow (distribution token.md). */
import { ImgError } from '../store/errors.js';
import type { Credentials } from './credentials.js';
import { responseError } from './errors.js';
import { header, readBody, type HttpResponse } from './http.js';

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parse `Bearer realm="…",service="…",scope="…"` (quoted values may contain commas). */
export function parseChallenge(value: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(value);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  }
  return { scheme, params };
}

/** Fetches a token URL (GET, optional Basic header); the transport supplies TLS policy. */
export type TokenFetcher = (url: URL, authorization?: string) => Promise<HttpResponse>;

interface Token {
  value: string;
  expiresAt: number;
}

const basic = (c: Credentials) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

/** Token responses carry `token` and/or `access_token`; `expires_in` defaults to 60 s. */
function parseToken(body: Buffer): Token {
  const json = JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
  const value = json.token || json.access_token;
  if (!value) throw new ImgError('UNAUTHORIZED', 'token server answered without a token');
  const issued = json.issued_at ? Date.parse(json.issued_at) : NaN;
  const start = Number.isNaN(issued) ? Date.now() : Math.min(issued, Date.now());
  const lifetime = Math.max(json.expires_in ?? 60, 60) * 1000;
  return { value, expiresAt: start + lifetime - 10_000 };
}

/** Auth state for one registry endpoint: the challenge it sent and the tokens it granted, per scope set. */
export class Authenticator {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, Token>();

  constructor(
    readonly host: string,
    private readonly credentials: Credentials | undefined,
    private readonly fetchToken: TokenFetcher,
  ) {}

  get hasCredentials(): boolean {
    return this.credentials !== undefined;
  }

  /** The Authorization header for a request needing `scopes`, once a challenge is known. */
  async authorization(scopes: string[]): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') return this.credentials && basic(this.credentials);
    const key = [...scopes].sort().join(' ');
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.value}`;
    const token = await this.requestToken(c, scopes);
    this.tokens.set(key, token);
    return `Bearer ${token.value}`;
  }

  /** Remember the challenge a 401 carries (from a ping or any request); false when it has none we support. */
  learn(res: HttpResponse): boolean {
    const c = parseChallenge(header(res, 'www-authenticate') ?? '');
    if (c) this.challenge = c;
    return c !== undefined;
  }

  /**
   * Learn from a 401 and drop the token that failed.
   * True when asking again with a new Authorization header could succeed.
   */
  async rejected(res: HttpResponse, sent: string | undefined, scopes: string[]): Promise<boolean> {
    if (!this.learn(res)) return false;
    if (sent?.startsWith('Bearer ')) this.tokens.delete([...scopes].sort().join(' '));
    const next = await this.authorization(scopes);
    return next !== undefined && next !== sent;
  }

  private async requestToken(c: Challenge, scopes: string[]): Promise<Token> {
    const realm = c.params.realm;
    if (!realm) throw new ImgError('UNAUTHORIZED', `${this.host}: bearer challenge without a realm`);
    const url = new URL(realm);
    if (c.params.service) url.searchParams.set('service', c.params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const res = await this.fetchToken(url, this.credentials && basic(this.credentials));
    if (res.status === 401 || res.status === 403) {
      await readBody(res, 64 << 10).catch(() => undefined);
      throw this.credentials
        ? new ImgError('UNAUTHORIZED', 'unauthorized: incorrect username or password', { hint: `check the credentials saved for ${this.host}` })
        : new ImgError('UNAUTHORIZED', 'unauthorized: authentication required', { hint: `run: lamina login ${this.host}` });
    }
    if (res.status !== 200) throw await responseError(res);
    return parseToken(await readBody(res, 1 << 20));
  }
}
