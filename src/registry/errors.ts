/** Registry errors: the wire error of the distribution spec, network failures, and redaction. */
import { ImgError, type ErrorCode } from '../store/errors.js';
import { header, readBody, type HttpResponse, NetworkError } from './http.js';

/** An error response from a registry: its status and the spec's error codes (MANIFEST_UNKNOWN, …). */
export class RegistryError extends ImgError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number,
    readonly codes: string[],
    opts: { hint?: string; cause?: unknown } = {},
  ) {
    super(code, message, opts);
    this.name = 'RegistryError';
  }

  /** Worth retrying: the registry is overloaded or failing for now. */
  get temporary(): boolean {
    return this.status === 429 || this.status >= 500;
  }
}

interface WireError {
  code?: string;
  message?: string;
}

/** `MANIFEST_UNKNOWN` + "manifest unknown" → "manifest unknown"; docker's `code: message` otherwise. */
function describe(e: WireError): string {
  const code = (e.code ?? '').toLowerCase().replace(/_/g, ' ');
  const msg = e.message ?? '';
  if (!code) return msg;
  return !msg || msg.toLowerCase() === code ? code : `${code}: ${msg}`;
}

function codeOf(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'UNAUTHORIZED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 429 || status >= 500) return 'UNAVAILABLE';
  if (status === 400 || status === 413 || status === 416) return 'INVALID_ARGUMENT';
  if (status === 405) return 'FAILED_PRECONDITION';
  return 'INTERNAL';
}

const STATUS_TEXT: Record<number, string> = {
  401: 'unauthorized: authentication required',
  403: 'denied: requested access to the resource is denied',
  404: 'not found',
  405: 'unsupported: the registry does not allow this operation',
  429: 'toomanyrequests: too many requests',
};

function parseWireErrors(body: Buffer): WireError[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: WireError[] };
    return Array.isArray(parsed.errors) ? parsed.errors : [];
  } catch {
    return [];
  }
}

/** Turn a non-success response into a RegistryError (reads and closes the body). */
export async function responseError(res: HttpResponse): Promise<RegistryError> {
  const body = await readBody(res, 64 << 10).catch(() => Buffer.alloc(0));
  const wire = parseWireErrors(body);
  const text = wire.map(describe).filter(Boolean).join('; ')
    || STATUS_TEXT[res.status]
    || `${res.url.host} answered HTTP ${res.status}${res.body.statusMessage ? ` ${res.body.statusMessage}` : ''}`;
  const retryAfter = header(res, 'retry-after');
  const hint = res.status === 429 && retryAfter ? `retry after ${retryAfter} seconds` : undefined;
  return new RegistryError(codeOf(res.status), redact(text), res.status, wire.map((e) => e.code ?? '').filter(Boolean), { hint });
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/;

/** Network failures whose cause may be gone on the next attempt. */
export function isTransientNetwork(err: unknown): boolean {
  return err instanceof NetworkError && ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE'].includes(err.code);
}

/** True for TLS handshake and certificate failures. */
export function isTlsFailure(err: unknown): boolean {
  return err instanceof NetworkError && TLS_CODES.test(err.code);
}

/** A one-line UNAVAILABLE error for a network failure talking to `host`. */
export function networkError(err: unknown, host: string): ImgError {
  if (err instanceof ImgError) return err;
  const e = err as NetworkError;
  const insecureHint = `if ${host} is a plain-HTTP or self-signed registry, list it under "insecure" in registries.json`;
  const known: Record<string, [string, string?]> = {
    ECONNREFUSED: [`connecting to ${host}: connection refused`, `is a registry listening on ${host}?`],
    ENOTFOUND: [`looking up ${host}: no such host`],
    EAI_AGAIN: [`looking up ${host}: temporary DNS failure`],
    ECONNRESET: [`talking to ${host}: connection reset by peer`],
    ETIMEDOUT: [`talking to ${host}: ${e.message}`],
    EHOSTUNREACH: [`connecting to ${host}: no route to host`],
    ENETUNREACH: [`connecting to ${host}: network is unreachable`],
  };
  const hit = known[e.code];
  if (hit) return new ImgError('UNAVAILABLE', hit[0], { cause: err, hint: hit[1] });
  if (e.code === 'EPROTO' && /wrong version number|packet length too long|http request/i.test(e.message)) {
    return new ImgError('UNAVAILABLE', `${host}: http: server gave HTTP response to HTTPS client`, { cause: err, hint: insecureHint });
  }
  if (isTlsFailure(err)) {
    return new ImgError('UNAVAILABLE', `${host}: tls: ${redact(e.message)}`, { cause: err, hint: insecureHint });
  }
  return new ImgError('UNAVAILABLE', `talking to ${host}: ${redact(e.message ?? String(err))}`, { cause: err });
}

/** Strip credentials from text that may quote a URL or a header. */
export function redact(s: string): string {
  return s
    .replace(/(\w+:\/\/)[^/@\s:]+(?::[^/@\s]*)?@/g, '$1***@')
    .replace(/((?:access_token|token|password|refresh_token|_state)=)[^&\s"']+/gi, '$1***')
    .replace(/((?:Basic|Bearer)\s+)[A-Za-z0-9+/=._~-]+/g, '$1***');
}
