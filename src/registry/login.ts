/** docker login / logout: verify credentials against `/v2/`, then keep them in docker's config file. */
import { ImgError, withContext } from '../store/errors.js';
import { openRegistry } from './client.js';
import { DOCKER_HUB } from './config.js';
import { dockerConfigPath, removeCredentials, saveCredentials, type Credentials } from './credentials.js';
import { discardBody } from './http.js';

/** `https://host:5000/v1/` or `index.docker.io` → the registry name references use. */
export function registryOf(server: string | undefined): string {
  if (!server) return DOCKER_HUB;
  const host = server.replace(/^https?:\/\//, '').split('/')[0]!.toLowerCase();
  if (!host) throw new ImgError('INVALID_ARGUMENT', `invalid registry "${server}"`);
  return ['index.docker.io', 'registry-1.docker.io'].includes(host) ? DOCKER_HUB : host;
}

/** Check `creds` against the registry and save them; `root` locates registries.json. */
export async function login(root: string, server: string | undefined, creds: Credentials, configFile = dockerConfigPath()): Promise<void> {
  const registry = registryOf(server);
  try {
    if (!creds.username) throw new ImgError('INVALID_ARGUMENT', 'username is empty');
    if (!creds.password) throw new ImgError('INVALID_ARGUMENT', 'password is empty');
    const t = await openRegistry(registry, { root, credentials: creds, noMirrors: true });
    discardBody(await t.request({ method: 'GET', path: '/v2/', scopes: [] }));
    await saveCredentials(registry, creds, configFile);
  } catch (err) {
    throw withContext(`login ${registry}`, err);
  }
}

/** Forget saved credentials; false when there were none. */
export async function logout(server: string | undefined, configFile = dockerConfigPath()): Promise<boolean> {
  return removeCredentials(registryOf(server), configFile);
}
