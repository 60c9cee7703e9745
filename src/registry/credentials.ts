/** Credentials in docker's config file format (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`). */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ImgError } from '../store/errors.js';
import { DOCKER_HUB } from './config.js';

export interface Credentials {
  username: string;
  password: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  [k: string]: unknown;
}

interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  [k: string]: unknown;
}

/** docker's key for Docker Hub. */
export const HUB_KEY = 'https://index.docker.io/v1/';

/** The config file path docker uses. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
  return path.join(dir, 'config.json');
}

/** The key docker stores a registry's credentials under. */
export function authKey(registry: string): string {
  return [DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io'].includes(registry) ? HUB_KEY : registry;
}

/** docker's ConvertToHostname: `https://host:5000/v1/` → `host:5000`. */
function keyHost(key: string): string {
  return key.replace(/^https?:\/\//, '').split('/')[0]!;
}

async function readConfig(file: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ImgError('FAILED_PRECONDITION', `reading ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as DockerConfig;
  } catch (err) {
    throw new ImgError('INVALID_ARGUMENT', `${file}: invalid JSON: ${(err as Error).message}`);
  }
}

function decode(entry: AuthEntry): Credentials | undefined {
  if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  if (!entry.auth) return undefined;
  const text = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Saved credentials for `registry`, matching docker's keys (with or without scheme and path). */
export async function credentialsFor(registry: string, file = dockerConfigPath()): Promise<Credentials | undefined> {
  const auths = (await readConfig(file)).auths ?? {};
  const want = authKey(registry);
  const exact = auths[want];
  if (exact) return decode(exact);
  const host = keyHost(want);
  for (const [key, entry] of Object.entries(auths)) if (keyHost(key) === host) return decode(entry);
  return undefined;
}

/** Write the file through a temp file and rename, mode 0600 in a 0700 directory. */
async function writeConfig(file: string, cfg: DockerConfig): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.config.json.${process.pid}-${randomUUID()}`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(cfg, null, '\t')}\n`);
    await fh.sync();
    await fh.close();
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Store `user:pass` for `registry`, keeping every other key of the file. */
export async function saveCredentials(registry: string, creds: Credentials, file = dockerConfigPath()): Promise<void> {
  const cfg = await readConfig(file);
  const key = authKey(registry);
  const auths = { ...(cfg.auths ?? {}) };
  auths[key] = { ...(auths[key] ?? {}), auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  delete auths[key]!.username;
  delete auths[key]!.password;
  await writeConfig(file, { ...cfg, auths });
}

/** Forget `registry`'s credentials; false when none were saved. */
export async function removeCredentials(registry: string, file = dockerConfigPath()): Promise<boolean> {
  const cfg = await readConfig(file);
  const host = keyHost(authKey(registry));
  const auths = { ...(cfg.auths ?? {}) };
  const keys = Object.keys(auths).filter((k) => keyHost(k) === host);
  if (keys.length === 0) return false;
  for (const k of keys) delete auths[k];
  await writeConfig(file, { ...cfg, auths });
  return true;
}
