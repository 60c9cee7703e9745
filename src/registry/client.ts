/** Builds a RegistryTransport for a registry from registries.json, saved credentials and the environment. */
import { ImgError } from '../store/errors.js';
import { DOCKER_HUB, isInsecure, loadRegistriesConfig, mirrorsOf, type RegistriesConfig } from './config.js';
import { credentialsFor, type Credentials } from './credentials.js';
import { DEFAULT_TIMEOUTS, type Timeouts } from './http.js';
import { DEFAULT_RETRY, RegistryTransport, type Base, type EndpointSpec } from './transport.js';

/** Docker Hub's API host. */
const HUB_API = 'registry-1.docker.io';

export interface ClientOpts {
  /** Store root, where registries.json lives. */
  root: string;
  /** Use these instead of the saved ones (login). */
  credentials?: Credentials;
  /** Leave out mirrors (pushes, logins). */
  noMirrors?: boolean;
  /** Override the config files (tests). */
  config?: RegistriesConfig;
}

function bases(host: string, insecure: boolean): Base[] {
  const https: Base = { url: new URL(`https://${host}`), insecureTls: insecure };
  // Docker's order for insecure registries: HTTPS without verification first, then plain HTTP.
  return insecure ? [https, { url: new URL(`http://${host}`), insecureTls: true }] : [https];
}

function mirrorSpec(cfg: RegistriesConfig, mirror: string, creds: Credentials | undefined): EndpointSpec {
  const url = new URL(mirror);
  const insecure = isInsecure(cfg, url.host);
  const list: Base[] = url.protocol === 'http:' ? [{ url, insecureTls: true }] : [{ url, insecureTls: insecure }];
  return { host: url.host, bases: list, credentials: creds, mirror: true };
}

function seconds(name: string, fallbackMs: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallbackMs;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0) throw new ImgError('INVALID_ARGUMENT', `${name}="${raw}": want a number of seconds`);
  return s * 1000;
}

/**
 * Timeouts from the environment, in seconds: LAMINA_CONNECT_TIMEOUT, LAMINA_IDLE_TIMEOUT,
 * LAMINA_REQUEST_TIMEOUT, and LAMINA_COMMAND_TIMEOUT for all of one command's registry
 * traffic (no limit unless set, as skopeo's --command-timeout).
 */
export function timeoutsFromEnv(): Timeouts {
  const total = seconds('LAMINA_COMMAND_TIMEOUT', 0);
  return {
    connectMs: seconds('LAMINA_CONNECT_TIMEOUT', DEFAULT_TIMEOUTS.connectMs),
    idleMs: seconds('LAMINA_IDLE_TIMEOUT', DEFAULT_TIMEOUTS.idleMs),
    requestMs: seconds('LAMINA_REQUEST_TIMEOUT', DEFAULT_TIMEOUTS.requestMs),
    ...(total ? { totalMs: total } : {}),
  };
}

/** A transport for `registry` (a reference's registry part, e.g. 'docker.io' or '127.0.0.1:5000'). */
export async function openRegistry(registry: string, o: ClientOpts): Promise<RegistryTransport> {
  const cfg = o.config ?? (await loadRegistriesConfig(o.root));
  const host = registry === DOCKER_HUB ? HUB_API : registry;
  const creds = o.credentials ?? (await credentialsFor(registry));
  const mirrors = o.noMirrors ? [] : await Promise.all(mirrorsOf(cfg, registry).map(async (m) => mirrorSpec(cfg, m, await credentialsFor(new URL(m).host))));
  const origin: EndpointSpec = { host: registry, bases: bases(host, isInsecure(cfg, registry)), credentials: creds, mirror: false };
  return new RegistryTransport(registry, [...mirrors, origin], timeoutsFromEnv(), DEFAULT_RETRY, (h) => isInsecure(cfg, h));
}
