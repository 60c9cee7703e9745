import http from 'node:http';
import { hasCode, ImgError, messageOf, type ErrorCode } from '../store/errors.js';
import { socketPath, STATUS_OF, type ErrorBody, type MountRequest, type MountResult, type MountStatus, type ServiceInfo } from './protocol.js';

const CODE_OF_STATUS = new Map(Object.entries(STATUS_OF).map(([code, status]) => [status, code as ErrorCode]));
/** Connection errors that mean "no service here": the CLI then works in direct mode. */
const ABSENT = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK']);

/** Talks to a running service over its Unix socket. */
export class ServiceClient {
  constructor(readonly socket: string) {}

  info(): Promise<ServiceInfo> {
    return this.call('GET', '/info');
  }

  mounts(): Promise<MountStatus[]> {
    return this.call('GET', '/mounts');
  }

  mount(req: MountRequest): Promise<MountResult> {
    return this.call('POST', '/mounts', req);
  }

  async unmount(dir: string): Promise<void> {
    await this.call('DELETE', `/mounts?dir=${encodeURIComponent(dir)}`);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request({
        socketPath: this.socket, method, path, timeout: 120_000,
        headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          try {
            const text = Buffer.concat(chunks).toString('utf8');
            const parsed = text ? JSON.parse(text) as unknown : undefined;
            if ((res.statusCode ?? 500) < 400) return resolve(parsed as T);
            reject(toError(res.statusCode ?? 500, parsed as ErrorBody | undefined));
          } catch (err) {
            reject(new ImgError('UNAVAILABLE', `service at ${this.socket}: unreadable answer to ${method} ${path}`, { cause: err }));
          }
        });
      });
      req.on('timeout', () => req.destroy(new ImgError('UNAVAILABLE', `service at ${this.socket}: no answer to ${method} ${path}`)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(connectError(this.socket, err)));
      req.end(data);
    });
  }
}

function toError(status: number, body: ErrorBody | undefined): ImgError {
  const code = body?.code ?? CODE_OF_STATUS.get(status) ?? 'INTERNAL';
  return new ImgError(code, body?.message ?? `service answered HTTP ${status}`, { hint: body?.hint });
}

function connectError(socket: string, err: NodeJS.ErrnoException): Error {
  if (err instanceof ImgError) return err;
  if (err.code === 'EACCES' || err.code === 'EPERM') {
    return new ImgError('UNAUTHORIZED', `permission denied while connecting to the lamina service at ${socket}`,
      { cause: err, hint: 'run as root, or as a member of the socket\'s group' });
  }
  return new ImgError('UNAVAILABLE', `connecting to the lamina service at ${socket}: ${err.message}`, { cause: err });
}

/** What the CLI found at the socket. */
export type ServiceProbe =
  | { state: 'absent'; socket: string }
  | { state: 'running'; socket: string; client: ServiceClient; info: ServiceInfo };

/** Asks the socket for the service's info; 'absent' when nothing listens there. Throws UNAUTHORIZED on EACCES. */
export async function probeService(socketFlag?: string): Promise<ServiceProbe> {
  const socket = socketPath(socketFlag);
  const client = new ServiceClient(socket);
  try {
    return { state: 'running', socket, client, info: await client.info() };
  } catch (err) {
    const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (code && ABSENT.has(code)) return { state: 'absent', socket };
    throw err;
  }
}

/** The service that keeps mounts for the store at `root`, or undefined: direct mode. */
export async function serviceFor(socketFlag: string | undefined, root: string): Promise<ServiceClient | undefined> {
  const p = await probeService(socketFlag);
  return p.state === 'running' && p.info.root === root ? p.client : undefined;
}

/** The service's mounts by container ID (empty in direct mode). */
export async function serviceMounts(svc: ServiceClient | undefined): Promise<Map<string, MountStatus>> {
  const list = svc ? await svc.mounts() : [];
  return new Map(list.filter((m) => m.containerId).map((m) => [m.containerId!, m]));
}

/** `lamina info`'s service section, as lines and as JSON. */
export async function serviceReport(socketFlag: string | undefined, root: string): Promise<{ lines: string[]; json: Record<string, unknown> }> {
  let p;
  try {
    p = await probeService(socketFlag);
  } catch (err) {
    const why = hasCode(err, 'UNAUTHORIZED') ? 'permission denied' : messageOf(err);
    return { lines: [`Service: not reachable (${why}); direct mode`], json: { state: 'unreachable', error: messageOf(err) } };
  }
  if (p.state === 'absent') return { lines: ['Service: not running (direct mode)'], json: { state: 'not running', socket: p.socket } };
  const { info } = p;
  const head = `Service: running (pid ${info.pid}, socket ${info.socket})`;
  if (info.root !== root) {
    return { lines: [`${head} for store ${info.root}; this store uses direct mode`], json: { state: 'other store', ...info } };
  }
  const rows = info.mounts.map((m) => `  ${m.dir}  ${m.state}  ${m.containerId ? `container ${m.containerId.slice(0, 12)}` : `image ${m.imageId.slice(7, 19)}`}`
    + `  worker ${m.pid ?? '-'}  restarts ${m.restarts}${m.error ? `  error: ${m.error}` : ''}`);
  return { lines: [head, `Service mounts: ${info.mounts.length}`, ...rows], json: { state: 'running', ...info } };
}
