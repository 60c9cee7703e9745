import { ImgError } from '../store/errors.js';
import type { ContainerConfig } from '../image/oci.js';

/** docker run's flags that change what runs. */
export interface RunFlags {
  entrypoint?: string;
  cmd: string[];
  env: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
}

/** What the sandbox executes. */
export interface Process {
  argv: string[];
  env: string[];
  cwd: string;
  user: string;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Later KEY=V entries replace earlier ones with the same KEY; a bare KEY takes the host's value, as docker does. */
export function mergeEnv(base: string[], overrides: string[], hostEnv: NodeJS.ProcessEnv = process.env): string[] {
  const out = new Map<string, string>();
  for (const e of base) out.set(e.split('=')[0]!, e);
  for (const e of overrides) {
    const key = e.split('=')[0]!;
    if (!key) throw new ImgError('INVALID_ARGUMENT', `invalid environment variable "${e}"`);
    if (e.includes('=')) out.set(key, e);
    else if (hostEnv[key] !== undefined) out.set(key, `${key}=${hostEnv[key]}`);
  }
  if (!out.has('PATH')) out.set('PATH', DEFAULT_PATH);
  return [...out.values()];
}

const hasVar = (env: string[], key: string) => env.some((e) => e.startsWith(`${key}=`));

/**
 * The environment a container's process gets, as docker builds it for run and exec alike: the
 * container's, HOSTNAME unless that sets one, `overrides` (exec -e) over those, then HOME from
 * the user's passwd entry unless set.
 */
export function processEnv(env: string[], o: { hostname: string; home: string; overrides?: string[] }): string[] {
  const withHost = hasVar(env, 'HOSTNAME') ? env : [...env, `HOSTNAME=${o.hostname}`];
  const merged = o.overrides ? mergeEnv(withHost, o.overrides) : withHost;
  return hasVar(merged, 'HOME') ? merged : [...merged, `HOME=${o.home}`];
}

/** docker's rules: --entrypoint replaces the image entrypoint and drops its Cmd; arguments replace Cmd. */
export function runProcess(image: ContainerConfig | undefined, f: RunFlags, opts: { allowNoCommand?: boolean } = {}): Process {
  const entrypoint = f.entrypoint !== undefined ? (f.entrypoint ? [f.entrypoint] : []) : (image?.Entrypoint ?? []);
  const cmd = f.cmd.length ? f.cmd : f.entrypoint !== undefined ? [] : (image?.Cmd ?? []);
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0 && !opts.allowNoCommand) throw new ImgError('INVALID_ARGUMENT', 'no command specified');
  const cwd = f.workdir || image?.WorkingDir || '/';
  if (!cwd.startsWith('/')) throw new ImgError('INVALID_ARGUMENT', `the working directory '${cwd}' is invalid: it needs to be an absolute path`);
  return {
    argv,
    env: mergeEnv([...(image?.Env ?? []), ...(f.hostname ? [`HOSTNAME=${f.hostname}`] : [])], f.env),
    cwd,
    user: f.user || image?.User || '',
  };
}
