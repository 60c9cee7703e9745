import { isDigest } from '../store/digest.js';
import { ImgError } from '../store/errors.js';
import type { Digest } from '../store/types.js';

/** A parsed image reference, already normalized the way `docker pull` does. */
export interface Reference {
  /** 'docker.io', 'localhost:5000', 'registry.example.com' */
  registry: string;
  /** 'library/busybox', 'foo/bar' */
  repository: string;
  tag?: string;
  digest?: Digest;
}

const DEFAULT_REGISTRY = 'docker.io';
const LEGACY_REGISTRY = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
const NAME_MAX = 255;

const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const DOMAIN_RE = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG_RE = /^\w[\w.-]{0,127}$/;
const IMAGE_ID_RE = /^[a-f0-9]{64}$/;
const ID_PREFIX_RE = /^(?:sha256:)?[a-f0-9]{4,64}$/;

function fail(s: string, reason: string): never {
  throw new ImgError('INVALID_ARGUMENT', `invalid reference "${s}": ${reason}`);
}

function parseDigestPart(s: string, d: string): Digest {
  if (d === '') fail(s, 'missing digest after "@"');
  const colon = d.indexOf(':');
  if (colon <= 0) fail(s, `invalid digest format "${d}"`);
  const algorithm = d.slice(0, colon);
  if (algorithm !== 'sha256') fail(s, `unsupported digest algorithm "${algorithm}"`);
  if (!isDigest(d)) fail(s, `invalid digest "${d}": want sha256:<64 lowercase hex digits>`);
  return d;
}

/** The tag colon is the last one after the last '/', so 'host:5000/x' has no tag. */
function splitTag(s: string, rest: string): [string, string | undefined] {
  const colon = rest.lastIndexOf(':');
  if (colon <= rest.lastIndexOf('/')) return [rest, undefined];
  const tag = rest.slice(colon + 1);
  if (tag === '') fail(s, 'empty tag after ":"');
  if (!TAG_RE.test(tag)) fail(s, `invalid tag "${tag}"`);
  return [rest.slice(0, colon), tag];
}

/** Docker's heuristic: only a first component that looks like a host is a registry. */
function splitRegistry(name: string): [string | undefined, string] {
  const slash = name.indexOf('/');
  const first = name.slice(0, slash);
  const isHost = /[.:]/.test(first) || first === 'localhost';
  return slash < 0 || !isHost ? [undefined, name] : [first, name.slice(slash + 1)];
}

function checkPath(s: string, path: string): void {
  if (path.toLowerCase() !== path) fail(s, `repository name "${path}" must be lowercase`);
  for (const component of path.split('/')) {
    if (component === '') fail(s, `empty path component (leading, trailing or double "/")`);
    if (!COMPONENT_RE.test(component)) fail(s, `invalid path component "${component}"`);
  }
}

function parseName(s: string, name: string): Pick<Reference, 'registry' | 'repository'> {
  if (name === '') fail(s, 'empty repository name');
  const [explicit, path] = splitRegistry(name);
  if (explicit !== undefined && !DOMAIN_RE.test(explicit)) fail(s, `invalid registry "${explicit}"`);
  checkPath(s, path);
  const registry = explicit === undefined || explicit === LEGACY_REGISTRY ? DEFAULT_REGISTRY : explicit;
  const repository = registry === DEFAULT_REGISTRY && !path.includes('/') ? OFFICIAL_PREFIX + path : path;
  // Like docker, the limit applies to the full name, registry included.
  if (`${registry}/${repository}`.length > NAME_MAX) fail(s, `name longer than ${NAME_MAX} characters`);
  return { registry, repository };
}

/** Parse `[registry/]path[:tag][@digest]`, filling in docker.io and library/ but no tag. */
export function parseReference(s: string): Reference {
  if (s === '') fail(s, 'empty reference');
  // A bare image id must never be mistaken for (or pulled as) a repository.
  if (IMAGE_ID_RE.test(s)) fail(s, 'cannot specify 64-byte hexadecimal strings');
  const at = s.indexOf('@');
  const digest = at < 0 ? undefined : parseDigestPart(s, s.slice(at + 1));
  const [name, tag] = splitTag(s, at < 0 ? s : s.slice(0, at));
  const ref: Reference = parseName(s, name);
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** parseReference, plus tag 'latest' when neither tag nor digest was given. */
export function normalizeReference(s: string): Reference {
  const ref = parseReference(s);
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** Docker's short display name: 'busybox', 'foo/bar', 'localhost:5000/x'. */
export function familiarName(r: Reference): string {
  if (r.registry !== DEFAULT_REGISTRY) return repoName(r);
  const short = r.repository.slice(OFFICIAL_PREFIX.length);
  return r.repository.startsWith(OFFICIAL_PREFIX) && !short.includes('/') ? short : r.repository;
}

/** A reference string as docker shows it: 'docker.io/library/busybox:1' → 'busybox:1'. */
export function familiar(s: string): string {
  return formatReference(parseReference(s), { familiar: true });
}

/** The full name without tag or digest: 'docker.io/library/busybox'. */
export function repoName(r: Reference): string {
  return `${r.registry}/${r.repository}`;
}

export function formatReference(r: Reference, opts: { familiar?: boolean } = {}): string {
  const name = opts.familiar ? familiarName(r) : repoName(r);
  const tag = r.tag === undefined ? '' : `:${r.tag}`;
  const digest = r.digest === undefined ? '' : `@${r.digest}`;
  return name + tag + digest;
}

/** 4..64 lowercase hex digits, optionally prefixed by 'sha256:'. */
export function looksLikeIdPrefix(s: string): boolean {
  return ID_PREFIX_RE.test(s);
}
