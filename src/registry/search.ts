/** search: repositories of a registry (`/v2/_catalog`) or Docker Hub's search, and the tags of one repository. */
import { ImgError, withContext } from '../store/errors.js';
import { parseReference, repoName } from '../image/reference.js';
import { catalog, tags } from './catalog.js';
import { openRegistry } from './client.js';
import { DOCKER_HUB } from './config.js';
import { networkError, responseError } from './errors.js';
import { readBody, send } from './http.js';

export interface SearchRow {
  name: string;
  description?: string;
  stars?: number;
  official?: boolean;
}

const HUB_SEARCH = 'https://index.docker.io/v1/search';

/** `host[:port]/term` → ['host[:port]', 'term']; anything else searches Docker Hub. */
export function splitSearchTerm(arg: string): [string, string] {
  const slash = arg.indexOf('/');
  const first = slash < 0 ? '' : arg.slice(0, slash);
  const isHost = /[.:]/.test(first) || first === 'localhost';
  return isHost ? [first, arg.slice(slash + 1)] : [DOCKER_HUB, arg];
}

async function searchHub(term: string, limit: number): Promise<SearchRow[]> {
  const url = new URL(HUB_SEARCH);
  url.searchParams.set('q', term);
  url.searchParams.set('n', String(Math.min(limit, 100)));
  const res = await send({ method: 'GET', url }).catch((err: unknown) => { throw networkError(err, url.host); });
  if (res.status !== 200) throw await responseError(res);
  const body = JSON.parse((await readBody(res)).toString('utf8')) as { results?: Array<{ name: string; description?: string; star_count?: number; is_official?: boolean }> };
  return (body.results ?? []).slice(0, limit).map((r) => ({ name: r.name, description: r.description ?? '', stars: r.star_count ?? 0, official: !!r.is_official }));
}

/** Repositories whose name contains `term`; `REGISTRY/` alone lists them all. */
export async function search(root: string, arg: string, limit = Infinity): Promise<SearchRow[]> {
  const [registry, term] = splitSearchTerm(arg);
  try {
    if (registry === DOCKER_HUB) return await searchHub(term, Number.isFinite(limit) ? limit : 25);
    const t = await openRegistry(registry, { root, noMirrors: true });
    const rows: SearchRow[] = [];
    for await (const repo of catalog(t)) {
      if (!repo.includes(term)) continue;
      rows.push({ name: `${registry}/${repo}` });
      if (rows.length >= limit) break;
    }
    return rows;
  } catch (err) {
    throw withContext(`search ${arg}`, err);
  }
}

/** Every tag of `repoArg` (`[registry/]name`, no tag). */
export async function listTags(root: string, repoArg: string, limit = Infinity): Promise<{ name: string; tags: string[] }> {
  const ref = parseReference(repoArg);
  if (ref.tag || ref.digest) throw new ImgError('INVALID_ARGUMENT', `search --tags ${repoArg}: give a repository without tag or digest`);
  try {
    const t = await openRegistry(ref.registry, { root });
    const out: string[] = [];
    for await (const tag of tags(t, ref.repository, limit)) out.push(tag);
    return { name: repoName(ref), tags: out };
  } catch (err) {
    throw withContext(`search --tags ${repoArg}`, err);
  }
}
