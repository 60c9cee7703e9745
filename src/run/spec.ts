// docker run / docker create flags → the RunSpec a container keeps.
import { isIP } from 'node:net';
import path from 'node:path';
import type { ContainerConfig } from '../image/oci.js';
import { DEFAULT_HOST_CONFIG, type NetworkMode, type RunSpec } from '../container/run-spec.js';
import { ImgError } from '../store/errors.js';
import { runProcess, type RunFlags } from './config.js';
import { parsePort } from '../container/ports.js';
import { parseRestart } from './restart.js';
import type { Volume } from './sandbox.js';
import { capabilityName, parseSecurityOpts } from './security.js';

/** docker create's flags (run takes the same, plus -d and --rm's foreground behaviour). */
export interface CreateFlags extends RunFlags {
  tty?: boolean;
  interactive?: boolean;
  /** host, none or private (docker's bridge; default). */
  network?: string;
  /** -p specs. */
  publish?: string[];
  addHost?: string[];
  volumes?: string[];
  init?: boolean;
  restart?: string;
  rm?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
}

/** `-v HOST:DIR[:ro|rw]`. */
export function parseVolume(spec: string): Volume {
  const [host, target, mode, ...rest] = spec.split(':');
  const bad = (why: string) => new ImgError('INVALID_ARGUMENT', `invalid volume "${spec}": ${why}`);
  if (!host || !target || rest.length) throw bad('want HOSTDIR:DIR[:ro]');
  if (!path.isAbsolute(host) || !path.isAbsolute(target)) throw bad('both paths must be absolute');
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw bad(`unknown mode "${mode}"`);
  return { host, target: path.posix.normalize(target), readOnly: mode === 'ro' };
}

function parseNetwork(s: string | undefined): NetworkMode {
  const n = s ?? 'private';
  if (n === 'bridge' || n === 'default') return 'private';
  if (n === 'host' || n === 'none' || n === 'private') return n;
  throw new ImgError('INVALID_ARGUMENT', `network ${n} not found`, { hint: 'lamina knows host, none and private (docker\'s bridge)' });
}

/** `--add-host NAME:IP`. */
function checkAddHost(h: string): string {
  const i = h.indexOf(':');
  const [name, ip] = [h.slice(0, i), h.slice(i + 1).replace(/^\[(.*)\]$/, '$1')];
  if (i <= 0 || !isIP(ip) || /\s/.test(name)) throw new ImgError('INVALID_ARGUMENT', `invalid argument "${h}" for "--add-host": want HOST:IP`);
  return `${name}:${ip}`;
}

/**
 * Everything checked before anything is created: a bad flag leaves no container behind. A container
 * without a command can be created (to mount it, or to commit into it); starting it fails.
 */
export function buildRunSpec(image: ContainerConfig | undefined, f: CreateFlags, opts: { allowNoCommand?: boolean } = {}): RunSpec {
  const network = parseNetwork(f.network);
  const ports = (f.publish ?? []).flatMap(parsePort);
  if (ports.length && network !== 'private') throw new ImgError('INVALID_ARGUMENT', `published ports need the private network, not --network ${network}`);
  (f.volumes ?? []).forEach(parseVolume);
  [...(f.capAdd ?? []), ...(f.capDrop ?? [])].forEach(capabilityName);
  const restart = parseRestart(f.restart ?? 'no');
  if (f.rm && restart.name !== 'no') throw new ImgError('INVALID_ARGUMENT', 'Conflicting options: --restart and --rm');
  const process = runProcess(image, f, opts);
  if (f.tty && !process.env.some((e) => e.startsWith('TERM='))) process.env.push('TERM=xterm');
  return {
    ...DEFAULT_HOST_CONFIG,
    process,
    hostname: f.hostname,
    tty: !!f.tty,
    interactive: !!f.interactive,
    network,
    ports,
    addHosts: (f.addHost ?? []).map(checkAddHost),
    volumes: f.volumes ?? [],
    init: !!f.init,
    restart,
    autoRemove: !!f.rm,
    capAdd: f.capAdd ?? [],
    capDrop: f.capDrop ?? [],
    privileged: !!f.privileged,
    ...parseSecurityOpts(f.securityOpt ?? []),
    stopSignal: image?.StopSignal,
    exposed: Object.keys(image?.ExposedPorts ?? {}),
  };
}
