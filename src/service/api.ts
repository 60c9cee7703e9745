import http from 'node:http';
import type { Socket } from 'node:net';
import { ImgError, messageOf } from '../store/errors.js';
import { logEvent } from './log.js';
import { STATUS_OF, type ErrorBody, type MountRequest, type ServiceInfo } from './protocol.js';
import type { Supervisor } from './supervisor.js';

const MAX_BODY = 64 * 1024;

type Handler = (url: URL, body: () => Promise<unknown>) => Promise<[number, unknown]>;

/** The service's HTTP API (see protocol.ts); malformed requests get a 4xx JSON error and change nothing. */
export function createApi(sup: Supervisor, info: () => ServiceInfo): http.Server {
  const routes: Record<string, Record<string, Handler>> = {
    '/info': { GET: async () => [200, info()] },
    '/mounts': {
      GET: async () => [200, sup.list()],
      POST: async (_url, body) => [201, await sup.mount(mountRequest(await body()))],
      DELETE: async (url) => {
        const dir = url.searchParams.get('dir');
        if (!dir) throw new ImgError('INVALID_ARGUMENT', 'DELETE /mounts needs ?dir=MOUNTPOINT');
        await sup.unmount(absolute(dir, 'dir'));
        return [200, { dir }];
      },
    },
  };
  const server = http.createServer((req, res) => void handle(routes, req, res));
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000; // receiving the request; a mount may take longer to answer
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code !== 'ECONNRESET' && socket.writable) {
      const body = JSON.stringify({ message: `malformed HTTP request: ${err.code ?? err.message}`, code: 'INVALID_ARGUMENT' });
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    } else socket.destroy();
  });
  return server;
}

async function handle(routes: Record<string, Record<string, Handler>>, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const t0 = Date.now();
  let status = 500;
  let out: unknown;
  try {
    const url = new URL(req.url ?? '/', 'http://lamina');
    const route = routes[url.pathname];
    if (!route) throw new ImgError('NOT_FOUND', `no such endpoint: ${url.pathname}`);
    const fn = route[req.method ?? ''];
    if (!fn) {
      res.setHeader('allow', Object.keys(route).join(', '));
      [status, out] = [405, errorBody(new ImgError('INVALID_ARGUMENT', `${req.method} is not allowed on ${url.pathname}`))];
    } else {
      [status, out] = await fn(url, () => readJson(req));
    }
  } catch (err) {
    status = (err as { status?: number }).status ?? (err instanceof ImgError ? STATUS_OF[err.code] : 500);
    out = errorBody(err);
    if (status >= 500) logEvent('error', { method: req.method, url: req.url, error: messageOf(err) }, 'error');
  }
  if (req.method !== 'GET' || status >= 400) logEvent('request', { method: req.method, url: req.url, status, tookMs: Date.now() - t0 });
  const body = JSON.stringify(out);
  if (status === 413) res.setHeader('connection', 'close');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

function errorBody(err: unknown): ErrorBody {
  if (err instanceof ImgError) return { message: err.message, code: err.code, ...(err.hint ? { hint: err.hint } : {}) };
  return { message: messageOf(err), code: 'INTERNAL' };
}

/** The request body as JSON: 413 past MAX_BODY, 400 when it does not parse. */
function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.removeAllListeners('data');
        req.resume();
        reject(Object.assign(new ImgError('INVALID_ARGUMENT', `request body over ${MAX_BODY} bytes`), { status: 413 }));
      } else chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(new ImgError('INVALID_ARGUMENT', `request body is not JSON: ${messageOf(err)}`));
      }
    });
  });
}

/** Checks a POST /mounts body field by field. */
function mountRequest(body: unknown): MountRequest {
  const bad = (why: string) => new ImgError('INVALID_ARGUMENT', `POST /mounts: ${why}`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('the body must be a JSON object');
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !['image', 'container', 'dir', 'readOnly'].includes(k));
  if (unknown.length) throw bad(`unknown field ${unknown.join(', ')}`);
  if ((b.image === undefined) === (b.container === undefined)) throw bad('give exactly one of image and container');
  for (const k of ['image', 'container'] as const) {
    if (b[k] !== undefined && (typeof b[k] !== 'string' || b[k] === '')) throw bad(`${k} must be a non-empty string`);
  }
  if (b.readOnly !== undefined && typeof b.readOnly !== 'boolean') throw bad('readOnly must be a boolean');
  if (typeof b.dir !== 'string') throw bad('dir must be a string');
  return { image: b.image as string | undefined, container: b.container as string | undefined, dir: absolute(b.dir, 'dir'),
    readOnly: b.readOnly as boolean | undefined };
}

function absolute(p: string, what: string): string {
  if (!p.startsWith('/') || p.includes('\0')) throw new ImgError('INVALID_ARGUMENT', `${what} must be an absolute path`);
  return p;
}
