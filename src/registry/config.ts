/** registries.json: Docker Hub mirrors and insecure registries (see docs/registries.md). */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { ImgError } from '../store/errors.js';

export interface RegistriesConfig {
  /** Pull-through mirrors per registry, tried in order before the registry itself. Only docker.io is mirrored. */
  mirrors: Record<string, string[]>;
  /** Registries reached over plain HTTP or unverified TLS: `host[:port]` or an IP range `a.b.c.d/n`. */
  insecure: string[];
}

export const SYSTEM_CONFIG = '/etc/lamina/registries.json';
export const DOCKER_HUB = 'docker.io';

const EMPTY: RegistriesConfig = { mirrors: {}, insecure: [] };

async function readOne(file: string): Promise<Partial<RegistriesConfig> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ImgError('FAILED_PRECONDITION', `reading ${file}: ${(err as Error).message}`);
  }
  try {
    return validate(JSON.parse(text), file);
  } catch (err) {
    if (err instanceof ImgError) throw err;
    throw new ImgError('INVALID_ARGUMENT', `${file}: invalid JSON: ${(err as Error).message}`);
  }
}

function validate(raw: unknown, file: string): Partial<RegistriesConfig> {
  const bad = (why: string) => new ImgError('INVALID_ARGUMENT', `${file}: ${why}`, { hint: 'see docs/registries.md' });
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad('want a JSON object');
  const c = raw as Record<string, unknown>;
  const out: Partial<RegistriesConfig> = {};
  if (c.mirrors !== undefined) {
    if (!c.mirrors || typeof c.mirrors !== 'object') throw bad('"mirrors" must map a registry to a list of URLs');
    for (const [k, v] of Object.entries(c.mirrors)) {
      if (!Array.isArray(v) || v.some((u) => typeof u !== 'string')) throw bad(`"mirrors.${k}" must be a list of URLs`);
      for (const u of v as string[]) if (!/^https?:\/\/[^/]+\/?$/.test(u)) throw bad(`mirror "${u}" must be an http(s) URL with no path`);
    }
    out.mirrors = c.mirrors as Record<string, string[]>;
  }
  if (c.insecure !== undefined) {
    if (!Array.isArray(c.insecure) || c.insecure.some((h) => typeof h !== 'string')) throw bad('"insecure" must be a list of host[:port] or CIDR strings');
    out.insecure = c.insecure as string[];
  }
  return out;
}

/** `<root>/registries.json`, with every key `/etc/lamina/registries.json` sets taking precedence. */
export async function loadRegistriesConfig(root: string, systemFile = SYSTEM_CONFIG): Promise<RegistriesConfig> {
  const local = (await readOne(path.join(root, 'registries.json'))) ?? {};
  const system = (await readOne(systemFile)) ?? {};
  return { ...EMPTY, ...local, ...system };
}

/** Mirror base URLs for a registry, in order (docker mirrors only Docker Hub). */
export function mirrorsOf(cfg: RegistriesConfig, registry: string): string[] {
  return registry === DOCKER_HUB ? (cfg.mirrors[DOCKER_HUB] ?? []).map((u) => u.replace(/\/$/, '')) : [];
}

/** `host:port` → host without brackets or port. */
export function hostOnly(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const colon = registry.lastIndexOf(':');
  return colon > 0 && registry.indexOf(':') === colon ? registry.slice(0, colon) : registry;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (isIP(ip) !== 4 || isIP(base ?? '') !== 4 || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipv4ToInt(ip) & mask) === (ipv4ToInt(base!) & mask);
}

/** Loopback is insecure by default, as in docker (`127.0.0.0/8`, `::1`, and `localhost`). */
export function isLoopback(registry: string): boolean {
  const host = hostOnly(registry);
  return host === 'localhost' || host === '::1' || inCidr(host, '127.0.0.0/8');
}

/** Whether `registry` may be reached over plain HTTP or unverified TLS. */
export function isInsecure(cfg: RegistriesConfig, registry: string): boolean {
  if (isLoopback(registry)) return true;
  const host = hostOnly(registry);
  return cfg.insecure.some((entry) => entry === registry || entry === host || (entry.includes('/') && inCidr(host, entry)));
}
