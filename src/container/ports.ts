import { isIP } from 'node:net';
import type { PortBinding } from './run-spec.js';
import { ImgError } from '../store/errors.js';

const bad = (spec: string, why: string) => new ImgError('INVALID_ARGUMENT', `invalid port "${spec}": ${why}`);

function portRange(s: string, spec: string, what: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (!m) throw bad(spec, `${what} port must be a number or a range`);
  const [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])];
  if (lo < 1 || hi > 65535 || lo > hi) throw bad(spec, `${what} port out of range 1-65535`);
  return [lo, hi];
}

/** Splits `[IP:][HOST:]CONTAINER`; an IPv6 address is written in brackets. */
function splitAddress(s: string, spec: string): { ip?: string; host?: string; container: string } {
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(s);
  const [ip, rest] = v6 ? [v6[1], v6[2]!] : [undefined, s];
  const parts = rest.split(':');
  if (v6 && parts.length !== 2) throw bad(spec, 'want [IP]:HOST:CONTAINER');
  if (parts.length > 3) throw bad(spec, 'too many colons (write an IPv6 address in brackets)');
  const [a, b, c] = parts;
  if (parts.length === 3) return { ip: a, host: b, container: c! };
  if (parts.length === 2) return { ip, host: a, container: b! };
  return { container: a! };
}

/**
 * docker's `-p [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`, ranges included (`8080-8081:80-81`).
 * A missing host port is not supported: pasta needs to know it before the container starts.
 */
export function parsePort(spec: string): PortBinding[] {
  const [addr = '', proto = 'tcp', ...extra] = spec.split('/');
  if (extra.length || (proto !== 'tcp' && proto !== 'udp')) throw bad(spec, 'protocol must be tcp or udp');
  const { ip, host, container } = splitAddress(addr, spec);
  if (ip !== undefined && ip !== '' && !isIP(ip)) throw bad(spec, `"${ip}" is not an IP address`);
  if (!host) throw bad(spec, 'give the host port (HOST:CONTAINER)');
  const [h0, h1] = portRange(host, spec, 'host');
  const [c0, c1] = portRange(container, spec, 'container');
  if (h1 - h0 !== c1 - c0) throw bad(spec, 'host and container port ranges differ in length');
  return Array.from({ length: h1 - h0 + 1 }, (_, i) => ({
    ...(ip ? { hostIp: ip } : {}), hostPort: h0 + i, containerPort: c0 + i, proto: proto as 'tcp' | 'udp',
  }));
}

/** One row of docker's port list: a published port per host address, or an exposed one (no host side). */
interface PortRow { ip?: string; publicPort?: number; privatePort: number; type: string }

/** What the API lists for a running container: both wildcard addresses for an unspecified host IP. */
function portRows(bindings: PortBinding[], exposed: string[]): PortRow[] {
  const rows: PortRow[] = [];
  for (const b of bindings) {
    for (const ip of b.hostIp ? [b.hostIp] : ['0.0.0.0', '::']) rows.push({ ip, publicPort: b.hostPort, privatePort: b.containerPort, type: b.proto });
  }
  for (const e of exposed) {
    const [port, type = 'tcp'] = e.split('/');
    const n = Number(port);
    if (Number.isInteger(n) && !bindings.some((b) => b.containerPort === n && b.proto === type)) rows.push({ privatePort: n, type });
  }
  return rows;
}

const joinHostPort = (ip: string, port: string | number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
const ipOrder = (ip?: string) => (ip === undefined ? 0 : ip.includes(':') ? 2 : 1);

/**
 * docker ps's PORTS text: "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp", exposed ports as "80/tcp",
 * consecutive ports published on their own number grouped ("0.0.0.0:80-81->80-81/tcp").
 */
export function displayPorts(bindings: PortBinding[], exposed: string[] = []): string {
  const rows = portRows(bindings, exposed).sort((a, b) => a.privatePort - b.privatePort || ipOrder(a.ip) - ipOrder(b.ip)
    || (a.ip ?? '').localeCompare(b.ip ?? '') || (a.publicPort ?? 0) - (b.publicPort ?? 0) || a.type.localeCompare(b.type));
  const groups = new Map<string, Array<[number, number]>>();
  const mapped: string[] = [];
  for (const r of rows) {
    if (r.ip !== undefined && r.publicPort !== r.privatePort) {
      mapped.push(`${joinHostPort(r.ip, r.publicPort!)}->${r.privatePort}/${r.type}`);
      continue;
    }
    const key = r.ip === undefined ? r.type : `${r.ip}/${r.type}`;
    const runs = groups.get(key) ?? [];
    const last = runs[runs.length - 1];
    if (last && r.privatePort === last[1] + 1) last[1] = r.privatePort;
    else runs.push([r.privatePort, r.privatePort]);
    groups.set(key, runs);
  }
  const grouped = [...groups].flatMap(([key, runs]) => runs.map(([a, b]) => {
    const range = a === b ? `${a}` : `${a}-${b}`;
    const slash = key.lastIndexOf('/');
    return slash < 0 ? `${range}/${key}` : `${joinHostPort(key.slice(0, slash), range)}->${range}/${key.slice(slash + 1)}`;
  }));
  return [...grouped, ...mapped].join(', ');
}
