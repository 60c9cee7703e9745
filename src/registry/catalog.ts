/** Listing: `/v2/_catalog` and `/v2/<name>/tags/list`, following RFC 5988 `Link: <…>; rel="next"` pages. */
import { ImgError } from '../store/errors.js';
import { header, readBody } from './http.js';
import { pullScope } from './manifests.js';
import type { RegistryTransport } from './transport.js';

const PAGE_SIZE = 100;
const MAX_PAGES = 10_000;

/** The `rel="next"` target of a Link header, resolved against the request URL. */
export function nextLink(link: string | undefined, base: URL): URL | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(?:^|;)\s*rel="?next"?\s*(?:;|$)/.test(m[2]!)) return new URL(m[1]!, base);
  }
  return undefined;
}

async function* pages<T>(t: RegistryTransport, first: string, scopes: string[], key: string, limit: number): AsyncGenerator<T> {
  let path: string | URL = first;
  let yielded = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await t.request({ method: 'GET', path, scopes });
    const body = JSON.parse((await readBody(res, 16 << 20)).toString('utf8')) as Record<string, unknown>;
    const items = body[key];
    if (items !== null && items !== undefined && !Array.isArray(items)) throw new ImgError('INVALID_ARGUMENT', `${t.registry}: "${key}" is not a list`);
    for (const item of (items ?? []) as T[]) {
      yield item;
      if (++yielded >= limit) return;
    }
    const next = nextLink(header(res, 'link'), res.url);
    if (!next) return;
    path = next;
  }
}

/** Repository names in the registry, in the registry's (lexical) order. */
export function catalog(t: RegistryTransport, limit = Infinity): AsyncGenerator<string> {
  return pages<string>(t, `/v2/_catalog?n=${PAGE_SIZE}`, ['registry:catalog:*'], 'repositories', limit);
}

/** Tags of `repo`. */
export function tags(t: RegistryTransport, repo: string, limit = Infinity): AsyncGenerator<string> {
  return pages<string>(t, `/v2/${repo}/tags/list?n=${PAGE_SIZE}`, [pullScope(repo)], 'tags', limit);
}
