/**
 * Starting native/lamina-mountd, the C mount server: its path, its arguments, and a spawn that
 * resolves once the kernel's INIT has been answered (the server writes "ready" on fd 3).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { nativeBinary } from '../native-binary.js';
import { ImgError } from '../store/errors.js';
import type { FuseMountOpts } from './mount-options.js';

/** What the native server serves: a view file over a store, and for containers an upper and work dir. */
export interface NativeSpec {
  view: string;
  store: string;
  upper?: string;
  work?: string;
}

export const MOUNTD = 'lamina-mountd';

/** The server binary (see nativeBinary). */
export const mountdPath = (): string => nativeBinary(MOUNTD);

/**
 * Mount options as libfuse3 takes them. Image mounts are ro; every mount is nosuid,nodev unless
 * the caller asks for suid/dev (only `run` does, for a mount that only its container can reach).
 */
export function nativeMountOptions(o: FuseMountOpts): string[] {
  const fsname = (o.fsname ?? 'lamina').replace(/[^\w.:@/+-]/g, '_');
  return [
    `fsname=${fsname}`, 'subtype=lamina', 'allow_other', 'default_permissions',
    (o.readOnly ?? true) ? 'ro' : 'rw',
    o.suid ? 'suid' : 'nosuid', o.dev ? 'dev' : 'nodev',
  ];
}

/** Cache lifetime the server gives the kernel for lower entries, attributes and negative lookups. */
function timeoutOf(o: FuseMountOpts): number {
  if (o.cache === 'off') return 0;
  if (o.cache === 'default') return 1;
  return o.timeoutSec ?? 86_400 * 365;
}

export function mountdArgs(dir: string, spec: NativeSpec, o: FuseMountOpts): string[] {
  return [
    '--view', spec.view, '--store', spec.store,
    ...(spec.upper ? ['--upper', spec.upper, '--work', spec.work ?? ''] : []),
    '-o', nativeMountOptions(o).join(','), '--timeout', String(timeoutOf(o)), '--ready-fd', '3',
    ...(o.debug ? ['--debug'] : []), dir,
  ];
}

/**
 * Spawns the server on `dir` with its output appended to `logFd`; resolves with its pid once the
 * mount answers, rejects with the server's exit status when it fails first.
 */
export function spawnMountd(dir: string, spec: NativeSpec, o: FuseMountOpts, logFd: number,
  onChild?: (child: ChildProcess) => void): Promise<number> {
  const bin = mountdPath();
  if (!existsSync(bin)) {
    return Promise.reject(new ImgError('FAILED_PRECONDITION', `mount server ${bin} not found`, { hint: 'run `npm run build` (make -C native) first' }));
  }
  const child = spawn(bin, mountdArgs(dir, spec, o), { detached: !onChild, stdio: ['ignore', logFd, logFd, 'pipe'] });
  onChild?.(child);
  return new Promise((resolve, reject) => {
    const ready = child.stdio[3] as NodeJS.ReadableStream;
    let said = '';
    const fail = (why: string) => reject(new ImgError('UNAVAILABLE', `mounting ${dir}: ${MOUNTD} ${why}`));
    const exited = (code: number | null, signal: string | null) => fail(`exited (${signal ?? `status ${code}`}) before the mount answered`);
    child.once('error', (err) => fail(`could not start: ${err.message}`));
    child.once('exit', exited);
    ready.on('data', (b: Buffer) => {
      said += b.toString();
      if (!said.includes('ready\n')) return;
      child.removeListener('exit', exited);
      ready.removeAllListeners('data');
      (ready as unknown as { destroy(): void }).destroy();
      if (!onChild) child.unref();
      resolve(child.pid!);
    });
  });
}
