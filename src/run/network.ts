// A private network namespace connected by pasta (passt's user-mode network stack): outbound
// traffic through the host's sockets, published ports forwarded in, nothing of the host's
// loopback reachable from inside.
import { open, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PortBinding } from '../container/run-spec.js';
import { ImgError } from '../store/errors.js';
import { running, spawnChild, type Child } from './child.js';

const PASTA = '/usr/bin/pasta';
/** The address pasta answers DNS on inside the namespace, forwarded to the host's resolver. */
export const DNS_FORWARD = '169.254.1.1';

/** pasta's -t/-u specs: `[ADDR/]HOST:CONTAINER` per port. */
function forwardArgs(ports: PortBinding[]): string[] {
  const spec = (proto: 'tcp' | 'udp') => ports.filter((p) => p.proto === proto)
    .map((p) => `${p.hostIp ? `${p.hostIp}/` : ''}${p.hostPort}:${p.containerPort}`);
  const tcp = spec('tcp');
  const udp = spec('udp');
  return ['-t', tcp.length ? tcp.join(',') : 'none', '-u', udp.length ? udp.join(',') : 'none'];
}

/** docker's error for a host port that something else holds (pasta itself would only warn). */
async function checkFree(p: PortBinding): Promise<void> {
  if (p.proto === 'udp') return;
  const host = p.hostIp ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => reject(new ImgError('FAILED_PRECONDITION',
      `Bind for ${host}:${p.hostPort} failed: ${err.code === 'EADDRINUSE' ? 'port is already allocated' : err.message}`)));
    srv.listen({ host, port: p.hostPort, exclusive: true }, () => srv.close(() => resolve()));
  });
}

/** A resolv.conf for the namespace: the host's search and options, with pasta's forwarder as the name server. */
export async function privateResolvConf(): Promise<string> {
  const host = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const keep = host.split('\n').filter((l) => /^\s*(search|domain|options)\b/.test(l));
  return [`nameserver ${DNS_FORWARD}`, ...keep, ''].join('\n');
}

export interface Pasta {
  proc: Child;
  /** Stops pasta (its ports close with it). */
  stop(): Promise<void>;
}

/**
 * Connects the network namespace of process `pid` with pasta and resolves once it is configured
 * (pasta writes its PID file last). pasta runs as a child of this process with a parent-death
 * signal, so it never outlives the container's monitor. It is handed the namespace as an open
 * file: pasta drops the capabilities it would need to open another root process's namespace.
 */
export async function startPasta(pid: number, ports: PortBinding[], stateDir: string): Promise<Pasta> {
  for (const p of ports) await checkFree(p);
  const pidFile = path.join(stateDir, 'pasta.pid');
  await rm(pidFile, { force: true });
  // The shell (root, every capability) opens the namespace and hands it to pasta as fd 3.
  const proc = spawnChild('/bin/sh', ['-c', 'pid=$1; shift; exec 3<"/proc/$pid/ns/net" && exec "$@"', 'lamina-pasta', String(pid),
    '/usr/bin/setpriv', '--pdeathsig', 'SIGKILL', '--', PASTA, '-f', '-q', '--config-net', '--runas', '0:0',
    ...forwardArgs(ports), '-T', 'none', '-U', 'none', '--dns-forward', DNS_FORWARD, '-P', pidFile, '--netns', '/proc/self/fd/3'],
  { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  let stderr = '';
  proc.proc.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const stop = async () => {
    if (running(proc)) proc.proc.kill('SIGTERM');
    await proc.exited;
  };
  try {
    for (;;) {
      if (!running(proc)) {
        const why = stderr.split('\n').filter((l) => l && !l.startsWith('Failed to send')).join('; ');
        throw new ImgError('UNAVAILABLE', `starting the network (pasta): ${why || `exited ${proc.proc.exitCode ?? proc.proc.signalCode}`}`);
      }
      if (/^\d+\s*$/.test(await readFile(pidFile, 'utf8').catch(() => ''))) return { proc, stop };
      await sleep(5);
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Whether pasta is installed (the private network needs it). */
export async function havePasta(): Promise<boolean> {
  return open(PASTA, 'r').then(async (f) => {
    await f.close();
    return true;
  }, () => false);
}
