// A real registry for tests: Debian's `docker-registry` (distribution 2.8)
// started as a child process on 127.0.0.1 and a free port, with filesystem
// storage in a temp dir, and optionally htpasswd (Basic) or token (Bearer JWT) auth.
// Stop it with `stop()` in afterAll: it is ended by its PID and reaped.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { haveCommand, pidAlive, runOk } from './proc.js';

export interface RegistryAuth {
  username: string;
  password: string;
}

/** distribution's `auth: token:`: the registry verifies Bearer JWTs from an issuer it trusts. */
export interface RegistryTokenAuth {
  /** Token endpoint URL sent in the challenge (`Bearer realm=…`). */
  realm: string;
  /** `service` in the challenge; tokens must carry it as `aud`. */
  service: string;
  /** Tokens must carry it as `iss`. */
  issuer: string;
  /** PEM file of the certificates whose keys may sign tokens (`x5c` chains end there; `kid` names one). */
  rootCertBundle: string;
}

export interface RegistryOptions {
  /** Require basic auth (htpasswd, bcrypt). `true` picks a user/password. */
  auth?: RegistryAuth | true;
  /** Require Bearer tokens (exclusive with `auth`). */
  token?: RegistryTokenAuth;
  /** distribution log level. Default 'warn'. Access log is off. */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** Milliseconds to wait for GET /v2/ to answer. Default 15 s. */
  timeoutMs?: number;
  /** Keep the temp dir (storage, config, log) after stop(). */
  keep?: boolean;
}

export interface Registry {
  /** '127.0.0.1:PORT', the registry part of image references. */
  host: string;
  port: number;
  /** 'http://127.0.0.1:PORT' */
  url: string;
  pid: number;
  /** Temp dir with config.yml, data/, registry.log (and htpasswd). */
  dir: string;
  logPath: string;
  auth?: RegistryAuth;
  /** `host/name` for a repository name (with optional :tag or @digest). */
  ref(name: string): string;
  /** Log contents so far, for failure messages. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** Path of the registry binary: $LAMINA_REGISTRY_BIN, else docker-registry on PATH (Debian: /usr/bin/docker-registry). */
export async function registryBinary(): Promise<string> {
  if (process.env.LAMINA_REGISTRY_BIN) return process.env.LAMINA_REGISTRY_BIN;
  for (const p of ['/usr/bin/docker-registry', '/usr/local/bin/docker-registry']) {
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  if (await haveCommand('docker-registry')) return 'docker-registry';
  throw new Error('docker-registry not found: run scripts/setup (Debian package docker-registry)');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if a test forgot stop(): never leave a registry behind.
  process.once('exit', () => {
    for (const c of live) {
      try {
        if (c.pid) process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
}

/** bcrypt htpasswd line via `htpasswd -B` (apache2-utils). */
async function htpasswdLine(auth: RegistryAuth): Promise<string> {
  if (!(await haveCommand('htpasswd'))) {
    throw new Error('htpasswd not found (Debian apache2-utils): run scripts/setup');
  }
  const r = await runOk('htpasswd', ['-nbB', auth.username, auth.password], { timeout: 30_000 });
  return r.stdout.trim() + '\n';
}

function configYaml(o: { dataDir: string; port: number; logLevel: string; htpasswd?: string; token?: RegistryTokenAuth }): string {
  const q = (s: string) => JSON.stringify(s); // JSON strings are valid YAML scalars
  return [
    'version: 0.1',
    'log:',
    `  level: ${o.logLevel}`,
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(o.dataDir)}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${q(`127.0.0.1:${o.port}`)}`,
    `  secret: ${q(randomBytes(16).toString('hex'))}`,
    ...(o.htpasswd ? ['auth:', '  htpasswd:', '    realm: lamina-test', `    path: ${q(o.htpasswd)}`] : []),
    ...(o.token
      ? ['auth:', '  token:', `    realm: ${q(o.token.realm)}`, `    service: ${q(o.token.service)}`, `    issuer: ${q(o.token.issuer)}`,
        `    rootcertbundle: ${q(o.token.rootCertBundle)}`]
      : []),
    '',
  ].join('\n');
}

/** Start a registry and wait until `GET /v2/` answers (200, or 401 with auth or token). */
export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  const bin = await registryBinary();
  const dir = await mkdtemp(path.join(tmpdir(), 'lamina-registry-'));
  const dataDir = path.join(dir, 'data');
  const logPath = path.join(dir, 'registry.log');
  await mkdir(dataDir);
  if (opts.auth && opts.token) throw new Error('startRegistry: auth and token are exclusive');
  const auth: RegistryAuth | undefined =
    opts.auth === true ? { username: 'lamina', password: randomBytes(9).toString('base64url') } : opts.auth;
  let htpasswd: string | undefined;
  if (auth) {
    htpasswd = path.join(dir, 'htpasswd');
    await writeFile(htpasswd, await htpasswdLine(auth), { mode: 0o600 });
  }
  const timeoutMs = opts.timeoutMs ?? 15_000;
  installExitHook();

  let lastError = '';
  // A port picked by freePort() can be taken before the registry binds it: retry.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const configPath = path.join(dir, 'config.yml');
    await writeFile(configPath, configYaml({ dataDir, port, logLevel: opts.logLevel ?? 'warn', htpasswd, token: opts.token }));
    const logFile = await open(logPath, 'a');
    const child = spawn(bin, ['serve', configPath], {
      stdio: ['ignore', logFile.fd, logFile.fd],
    });
    await logFile.close();
    live.add(child);
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exitPromise = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exited = { code, signal };
        live.delete(child);
        resolve();
      });
      child.once('error', (e) => {
        exited = { code: 127, signal: null };
        lastError = e.message;
        live.delete(child);
        resolve();
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + timeoutMs;
    let ready = false;
    while (!exited && Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200 || ((auth || opts.token) && res.status === 401)) {
          ready = true;
          break;
        }
      } catch {
        /* not listening yet */
      }
      await sleep(50);
    }
    if (!ready) {
      if (!exited) {
        child.kill('SIGKILL');
        await exitPromise;
      }
      const log = await readFile(logPath, 'utf8').catch(() => '');
      lastError = lastError || `registry on port ${port} did not come up: ${log.trim().split('\n').slice(-5).join('\n')}`;
      if (/address already in use/.test(log)) continue;
      break;
    }

    const pid = child.pid!;
    let stopped = false;
    return {
      host: `127.0.0.1:${port}`,
      port,
      url,
      pid,
      dir,
      logPath,
      auth,
      ref: (name: string) => `127.0.0.1:${port}/${name}`,
      log: () => readFile(logPath, 'utf8').catch(() => ''),
      async stop() {
        if (stopped) return;
        stopped = true;
        if (!exited) {
          process.kill(pid, 'SIGTERM');
          const timer = setTimeout(() => {
            if (!exited) process.kill(pid, 'SIGKILL');
          }, 5000);
          await exitPromise;
          clearTimeout(timer);
        }
        // Make sure the PID is really gone (reaped) before returning.
        for (let i = 0; i < 100 && (await pidAlive(pid)); i++) await sleep(20);
        if (!opts.keep) await rm(dir, { recursive: true, force: true });
      },
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`could not start ${bin}: ${lastError}`);
}
