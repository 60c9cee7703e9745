// A registry that lies, on 127.0.0.1: it serves one valid image (manifest, config, one
// uncompressed layer) but sends the layer blob the way an attacker would. Everything it
// sends is bounded, so a client that never stops cannot make a test run away either.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the layer blob is sent:
 * - 'pass': as it is;
 * - 'endless': a tar header for a 8 GiB file, then random bytes without end (capped at 1 GiB), no length;
 * - 'trickle': the right bytes with the right length, one byte every 100 ms;
 * - 'slow': the right bytes at about 1 MiB/s, honouring Range.
 */
export type BlobMode = 'pass' | 'endless' | 'trickle' | 'slow';

export interface HostileRegistry {
  host: string;
  /** What the manifest declares for the layer. */
  layer: { digest: string; size: number };
  /** Changed between pulls. */
  mode: BlobMode;
  /** Layer GETs, with their Range header ('' when none). */
  layerGets: string[];
  /** Layer bytes written to sockets so far. */
  sent: number;
  ref(name: string): string;
  close(): Promise<void>;
}

const ENDLESS_CAP = 1 << 30;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A ustar header for a regular file `name` of `size` bytes (octal fields, checksum filled in). */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  const field = (off: number, len: number, v: string) => h.write(v.padEnd(len, '\0'), off, len, 'latin1');
  field(0, 100, name);
  field(100, 8, '0000644');
  field(108, 8, '0000000');
  field(116, 8, '0000000');
  field(124, 12, size.toString(8).padStart(11, '0'));
  field(136, 12, '00000000000');
  h.fill(0x20, 148, 156);
  h.write('0', 156, 'latin1');
  field(257, 8, 'ustar\x0000');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** Writes `next()` pieces while the socket takes them, one every `everyMs` when given; stops at null. */
function pump(res: http.ServerResponse, reg: HostileRegistry, next: () => Buffer | null, everyMs = 0): void {
  let timer: NodeJS.Timeout | undefined;
  const step = () => {
    while (!res.destroyed) {
      const piece = next();
      if (!piece) return void res.end();
      reg.sent += piece.length;
      const more = res.write(piece);
      if (everyMs) return void (timer = setTimeout(step, everyMs));
      if (!more) return void res.once('drain', step);
    }
  };
  res.on('close', () => clearTimeout(timer));
  step();
}

function sendLayer(req: http.IncomingMessage, res: http.ServerResponse, reg: HostileRegistry, layer: Buffer): void {
  if (reg.mode === 'endless') {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    let n = 0;
    const noise = randomBytes(64 << 10);
    return pump(res, reg, () => (n === 0 ? (n++, tarHeader('big', 8 * 2 ** 30 - 1)) : n++ * noise.length < ENDLESS_CAP ? noise : null));
  }
  const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
  const body = reg.mode === 'slow' ? layer.subarray(start) : layer;
  const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) };
  if (reg.mode === 'slow' && start > 0) headers['Content-Range'] = `bytes ${start}-${layer.length - 1}/${layer.length}`;
  res.writeHead(reg.mode === 'slow' && start > 0 ? 206 : 200, headers);
  let at = 0;
  const piece = reg.mode === 'trickle' ? 1 : reg.mode === 'slow' ? 64 << 10 : body.length;
  const next = () => (at < body.length ? body.subarray(at, (at += piece)) : null);
  pump(res, reg, next, reg.mode === 'trickle' ? 100 : reg.mode === 'slow' ? 62 : 0);
}

/** Serve repository `repo` (any name) with one image whose layer is the tar `layer`. */
export async function hostileRegistry(layer: Buffer, mode: BlobMode): Promise<HostileRegistry> {
  const layerDesc = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length };
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layerDesc.digest] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [layerDesc],
  }));
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/v2/') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    if (/\/manifests\//.test(url)) {
      const type = 'application/vnd.oci.image.manifest.v1+json';
      return void res.writeHead(200, { 'Content-Type': type, 'Docker-Content-Digest': sha(manifest), 'Content-Length': String(manifest.length) })
        .end(req.method === 'HEAD' ? undefined : manifest);
    }
    if (url.endsWith(`/blobs/${sha(config)}`)) return void res.writeHead(200, { 'Content-Length': String(config.length) }).end(config);
    if (url.endsWith(`/blobs/${layerDesc.digest}`)) {
      reg.layerGets.push(req.headers.range ?? '');
      return sendLayer(req, res, reg, layer);
    }
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed: Promise<void> | undefined;
  const reg: HostileRegistry = {
    host, layer: { digest: layerDesc.digest, size: layerDesc.size }, mode, layerGets: [], sent: 0,
    ref: (name) => `${host}/${name}`,
    close: () => (closed ??= new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    })),
  };
  return reg;
}
