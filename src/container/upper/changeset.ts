// What a container's writable layer changes, as the entries of an OCI layer changeset:
// the plan only (which paths, in which order, metadata and bytes from where). Pure: the
// upper layer comes in through the UnionResolver's UpperSource, so every rule is unit-tested
// without a host dir; container-tar.ts turns the plan into tar bytes.
//
// Applying the changeset over the image (L) must give the container's merged view (M).
// Where a directory of M merges L's directory at the same path, only its upper entries
// differ from L ("diff mode"): each is written, and each whiteout over an L entry becomes
// `.wh.NAME`. Anywhere else (an opaque directory, a directory moved from elsewhere, a new
// directory), the directory is written in full ("full mode"): its upper entries, plus the
// lower entries it shows (read from where the redirect points), after an opaque marker
// when L has a directory there. So the cost follows the upper layer, except for the
// contents of moved directories, which a self-contained layer must carry.
import { ImgError } from '../../store/errors.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '../../image/tar/whiteout.js';
import { childOf, type UnionResolver, type UpperEntry } from '../../union/container.js';
import type { Node } from '../../union/view.js';

/** One member of the changeset, in archive order. */
export type ChangeItem =
  /** An upper entry; `data` is the lower file holding a metacopy file's bytes. */
  | { kind: 'upper'; path: string; node: Node; data?: Node }
  /** A lower entry written at `path` (inside a moved or opaque directory), read from `from`. */
  | { kind: 'lower'; path: string; node: Node; from: string }
  /** `.wh.NAME`: hides `path` of the layers below. */
  | { kind: 'whiteout'; path: string }
  /** `.wh..wh..opq` in directory `path`: hides everything the layers below have in it. */
  | { kind: 'opaque'; path: string };

/** The tar member name of an item: relative, directories with a trailing `/`, root `./`. */
export function memberName(item: ChangeItem): string {
  const p = item.path.slice(1);
  const dir = p.includes('/') ? p.slice(0, p.lastIndexOf('/') + 1) : '';
  if (item.kind === 'whiteout') return `${dir}${WHITEOUT_PREFIX}${p.slice(dir.length)}`;
  if (item.kind === 'opaque') return p === '' ? OPAQUE_MARKER : `${p}/${OPAQUE_MARKER}`;
  if (p === '') return './';
  return item.node.type === 'dir' ? `${p}/` : p;
}

export interface PlanOpts {
  /** Whether the upper root's xattrs differ from the lower root's (the root's other metadata is compared here). */
  rootXattrsChanged?: boolean;
}

/** Names in archive order: by the member's base name (`.wh.x` sorts as written). */
const byMember = (a: [string, string], b: [string, string]): number => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);

const sameMeta = (a: Node, b: Node): boolean =>
  a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.mtimeSec === b.mtimeSec && a.mtimeNsec === b.mtimeNsec;

/** The changeset of the union `u` (its upper layer over its lower view), depth first, parents before children. */
export function* planChangeset(u: UnionResolver, opts: PlanOpts = {}): Generator<ChangeItem> {
  const root = u.upper.probe('/');
  const lowerRoot = u.lower.lookup('/');
  // The mount copies the image root's metadata and ino onto a fresh upper root once
  // (ContainerView.initRoot); before that, the upper root is not part of the view.
  const initialized = !!root && !!lowerRoot && root.node.ino === lowerRoot.ino;
  if (root && initialized && (!sameMeta(root.node, lowerRoot) || opts.rootXattrsChanged)) {
    yield { kind: 'upper', path: '/', node: { ...root.node, ino: lowerRoot.ino } };
  }
  const src = u.dir('/')?.lower;
  yield* walkDir(u, '/', src, src === '/');
}

/**
 * Children of merged directory `p` (already written). `src` is the lower directory whose
 * children merge in (undefined when none); `below` says whether the layers below still show
 * their own entries at `p` in the result (an L directory there, not hidden by this changeset).
 */
function* walkDir(u: UnionResolver, p: string, src: string | undefined, below: boolean): Generator<ChangeItem> {
  if (below && src === p) return yield* diffDir(u, p);
  if (below) yield { kind: 'opaque', path: p };
  yield* fullDir(u, p, src);
}

function reserved(path: string): ImgError {
  return new ImgError('FAILED_PRECONDITION', `${path}: names starting with "${WHITEOUT_PREFIX}" are whiteouts in image layers and cannot be committed`,
    { hint: 'rename or remove the file in the container first' });
}

/** A directory that merges L's directory at the same path: only upper entries and whiteouts. */
function* diffDir(u: UnionResolver, p: string): Generator<ChangeItem> {
  const names: Array<[string, string]> = [];
  const entries = new Map<string, UpperEntry>();
  for (const name of u.upper.names(p)) {
    const e = u.upper.probe(childOf(p, name));
    if (!e) continue; // removed meanwhile
    if (name.startsWith(WHITEOUT_PREFIX)) throw reserved(childOf(p, name));
    entries.set(name, e);
    names.push([name, e.whiteout ? `${WHITEOUT_PREFIX}${name}` : name]);
  }
  for (const [name] of names.sort(byMember)) {
    const path = childOf(p, name);
    const e = entries.get(name)!;
    if (e.whiteout) {
      if (u.lower.lookup(path)) yield { kind: 'whiteout', path };
      continue;
    }
    yield* upperEntry(u, path, e, true);
  }
}

/** A directory written in full: upper entries plus the lower entries of `src` it shows. */
function* fullDir(u: UnionResolver, p: string, src: string | undefined): Generator<ChangeItem> {
  const entries = new Map<string, UpperEntry>();
  const hidden = new Set<string>();
  for (const name of u.upper.names(p)) {
    const e = u.upper.probe(childOf(p, name));
    if (!e) continue;
    if (e.whiteout) {
      hidden.add(name);
      continue;
    }
    if (name.startsWith(WHITEOUT_PREFIX)) throw reserved(childOf(p, name));
    entries.set(name, e);
  }
  const names = new Set(entries.keys());
  if (src !== undefined) for (const n of u.lower.readdir(src) ?? []) if (!hidden.has(n)) names.add(n);
  for (const name of [...names].sort()) {
    const path = childOf(p, name);
    const e = entries.get(name);
    if (e) yield* upperEntry(u, path, e, false);
    else yield* lowerTree(u, path, childOf(src!, name));
  }
}

/** An upper entry at `path`; `below`: the layers below still show what they have at `path`. */
function* upperEntry(u: UnionResolver, path: string, e: UpperEntry, below: boolean): Generator<ChangeItem> {
  if (e.node.type !== 'dir') {
    const data = e.metacopy ? u.resolve(path)?.data?.node : undefined;
    return yield data ? { kind: 'upper', path, node: e.node, data } : { kind: 'upper', path, node: e.node };
  }
  yield { kind: 'upper', path, node: e.node };
  const childBelow = below && u.lower.lookup(path)?.type === 'dir';
  yield* walkDir(u, path, u.dir(path)?.lower, childBelow);
}

/** A lower entry (and, for a directory, everything under it) written at `path`. */
function* lowerTree(u: UnionResolver, path: string, from: string): Generator<ChangeItem> {
  const node = u.lower.lookup(from);
  if (!node) return;
  yield { kind: 'lower', path, node, from };
  if (node.type !== 'dir') return;
  for (const n of [...(u.lower.readdir(from) ?? [])].sort()) yield* lowerTree(u, childOf(path, n), childOf(from, n));
}
