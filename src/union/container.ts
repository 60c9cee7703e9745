// Pure union of a writable upper layer over a read-only lower view, with Linux
// overlayfs rules: an upper entry wins, a whiteout hides, an opaque directory hides
// the lower children, a redirect directory takes its lower children from another
// path, a metacopy file takes its data from the lower file. No node:fs here: the
// upper layer comes in through UpperSource, so every rule is unit-testable.
import { fsError } from './errno.js';
import type { MergedView, Node } from './view.js';

/** overlayfs' xattrs on upper entries (the trusted.* namespace, as the kernel uses as root). */
export const OVL_OPAQUE = 'trusted.overlay.opaque';
export const OVL_REDIRECT = 'trusted.overlay.redirect';
export const OVL_METACOPY = 'trusted.overlay.metacopy';
/** lamina's own: the inode number a copied-up entry keeps (decimal). */
export const LAMINA_INO = 'trusted.lamina.ino';
/** Upper-only entries get inode numbers above this (host inode + base), lower ones stay below. */
export const UPPER_INO_BASE = 2 ** 40;

/** Internal xattrs: hidden from listxattr and refused to setxattr through the mount. */
export const isInternalXattr = (name: string): boolean =>
  name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.') || name.startsWith('trusted.lamina.');

/** What the upper layer holds at one path. */
export interface UpperEntry {
  /** Stat of the host entry; `ino` already final (kept lower ino or UPPER_INO_BASE + host ino). */
  node: Node;
  whiteout: boolean;
  opaque: boolean;
  metacopy: boolean;
  /** trusted.overlay.redirect: absolute ('/a/b') or a name in the same lower parent. */
  redirect?: string;
}

/** The upper layer as the resolver reads it (synchronous: local metadata syscalls). */
export interface UpperSource {
  /** The entry at merged path `path`, or undefined. */
  probe(path: string): UpperEntry | undefined;
  /** Names in the upper directory at `path`, whiteouts included. */
  names(path: string): string[];
}

/** A directory of the merged view: does it exist in upper, and which lower dir merges in. */
export interface DirState {
  path: string;
  upper: boolean;
  /** Lower directory whose children show through; undefined when opaque or absent below. */
  lower?: string;
}

/** One resolved path of the merged view. */
export interface Resolved {
  path: string;
  node: Node;
  upper?: UpperEntry;
  /** The lower entry at this position (hidden by, merged with, or serving data to the upper one). */
  lower?: { path: string; node: Node };
  /** For a metacopy upper file: the lower file that holds its data. */
  data?: { path: string; node: Node };
  /** A lower entry sits at this very path (not reached through a redirect): removing this one needs a whiteout. */
  shadows: boolean;
}

export const parentOf = (p: string): string => (p.lastIndexOf('/') <= 0 ? '/' : p.slice(0, p.lastIndexOf('/')));
export const baseOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
export const childOf = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** Merges an upper layer over a lower view; caches directory states until invalidate(). */
export class UnionResolver {
  private readonly dirs = new Map<string, DirState | null>();

  constructor(readonly lower: MergedView, readonly upper: UpperSource) {}

  /** Forget cached directory states (after any change to directories). */
  invalidate(): void {
    this.dirs.clear();
  }

  /** State of directory `path`, or undefined when it is absent or not a directory. */
  dir(path: string): DirState | undefined {
    let s = this.dirs.get(path);
    if (s === undefined) {
      s = this.computeDir(path) ?? null;
      this.dirs.set(path, s);
    }
    return s ?? undefined;
  }

  private computeDir(path: string): DirState | undefined {
    if (path === '/') return { path, upper: true, lower: this.lower.lookup('/') ? '/' : undefined };
    const r = this.resolve(path);
    if (r?.node.type !== 'dir') return undefined;
    return { path, upper: !!r.upper, lower: r.lower?.node.type === 'dir' && !r.upper?.opaque ? r.lower.path : undefined };
  }

  /** Where the lower entry for `name` in `parent` sits, if the parent merges a lower dir. */
  lowerPathIn(parent: DirState, name: string): string | undefined {
    return parent.lower === undefined ? undefined : childOf(parent.lower, name);
  }

  /** The merged entry at `path`, or undefined (absent or whited out). */
  resolve(path: string): Resolved | undefined {
    if (path === '/') return this.resolveRoot();
    const parent = this.dir(parentOf(path));
    if (!parent) return undefined;
    const name = baseOf(path);
    const up = parent.upper ? this.upper.probe(path) : undefined;
    if (up?.whiteout) return undefined;
    const here = this.lowerPathIn(parent, name);
    const redirected = up?.node.type === 'dir' && up.redirect !== undefined && !up.opaque;
    const lowerPath = redirected ? this.redirectTarget(parent, up.redirect!) : here;
    const lowerNode = lowerPath === undefined ? undefined : this.lower.lookup(lowerPath);
    const lower = lowerNode && lowerPath !== undefined ? { path: lowerPath, node: lowerNode } : undefined;
    if (!up) return lower && { path, node: lower.node, lower, shadows: true };
    const shadows = redirected ? here !== undefined && !!this.lower.lookup(here) : !!lower;
    return { path, node: this.upperNode(up, lower), upper: up, lower, data: this.metacopyData(parent, name, up), shadows };
  }

  private resolveRoot(): Resolved {
    const up = this.upper.probe('/');
    const lowerNode = this.lower.lookup('/');
    const lower = lowerNode && { path: '/', node: lowerNode };
    if (!up) return { path: '/', node: lowerNode ?? fallbackRoot(), lower, shadows: false };
    return { path: '/', node: { ...up.node, ino: lowerNode?.ino ?? 1, nlink: lower ? 1 : up.node.nlink }, upper: up, lower, shadows: false };
  }

  private redirectTarget(parent: DirState, redirect: string): string | undefined {
    if (redirect.startsWith('/')) return redirect;
    const lowerParent = parent.lower ?? undefined;
    return lowerParent === undefined ? undefined : childOf(lowerParent, redirect);
  }

  private upperNode(up: UpperEntry, lower: Resolved['lower']): Node {
    // overlayfs reports nlink 1 for merged directories rather than counting subdirectories.
    if (up.node.type === 'dir' && lower?.node.type === 'dir' && !up.opaque) return { ...up.node, nlink: 1 };
    return up.node;
  }

  private metacopyData(parent: DirState, name: string, up: UpperEntry): Resolved['data'] {
    if (!up.metacopy || up.node.type !== 'file') return undefined;
    const p = up.redirect !== undefined ? this.redirectTarget(parent, up.redirect) : this.lowerPathIn(parent, name);
    const node = p === undefined ? undefined : this.lower.lookup(p);
    return node && p !== undefined && node.type === 'file' ? { path: p, node } : undefined;
  }

  /** Names of the merged directory at `path` (sorted), or undefined if it is not a directory. */
  list(path: string): string[] | undefined {
    const st = this.dir(path);
    if (!st) return undefined;
    const names = new Set<string>();
    const hidden = new Set<string>();
    if (st.upper) {
      for (const n of this.upper.names(path)) {
        if (this.upper.probe(childOf(path, n))?.whiteout) hidden.add(n);
        else names.add(n);
      }
    }
    if (st.lower !== undefined) for (const n of this.lower.readdir(st.lower) ?? []) if (!hidden.has(n)) names.add(n);
    return [...names].sort();
  }
}

function fallbackRoot(): Node {
  return { ino: 1, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeSec: 0, mtimeNsec: 0, nlink: 2 };
}

// ---------------------------------------------------------------------------
// Plans: what a mutation must do, decided from resolved state only.

/** How much of a lower entry a copy-up brings into the upper layer. */
export type CopyUpKind = 'meta' | 'data' | 'empty';

/** Copy-up plan for `path`: none when already upper with data, or which copy it needs. */
export type CopyUpPlan =
  | { op: 'none' }
  | { op: 'copy-up'; kind: CopyUpKind; path: string; from: { path: string; node: Node } }
  | { op: 'data-up'; path: string; from?: { path: string; node: Node }; truncate: boolean };

/**
 * What a change to `r` needs first. `need`: 'meta' for chmod/chown/utimens/xattrs/rename,
 * 'data' for a write, 'trunc' for open(O_TRUNC) or truncate to 0 (no bytes copied).
 */
export function planCopyUp(r: Resolved, need: 'meta' | 'data' | 'trunc'): CopyUpPlan {
  if (r.upper) {
    if (!r.upper.metacopy || need === 'meta') return { op: 'none' };
    return { op: 'data-up', path: r.path, from: r.data, truncate: need === 'trunc' };
  }
  if (!r.lower) return { op: 'none' };
  const isFile = r.lower.node.type === 'file';
  const kind: CopyUpKind = !isFile ? 'meta' : need === 'data' ? 'data' : need === 'trunc' ? 'empty' : 'meta';
  return { op: 'copy-up', kind, path: r.path, from: r.lower };
}

/** Removal plan: drop the upper entry and/or leave a whiteout over the lower one. */
export interface RemovePlan {
  path: string;
  removeUpper: boolean;
  /** Whiteouts inside an upper directory that must go before it can be removed. */
  clearWhiteouts: string[];
  whiteout: boolean;
}

/** unlink/rmdir of `r`; throws ENOTDIR/EISDIR/ENOTEMPTY like the kernel would. */
export function planRemove(u: UnionResolver, r: Resolved, rmdir: boolean): RemovePlan {
  const isDir = r.node.type === 'dir';
  if (rmdir && !isDir) throw fsError('ENOTDIR');
  if (!rmdir && isDir) throw fsError('EISDIR');
  let clearWhiteouts: string[] = [];
  if (isDir) {
    if ((u.list(r.path) ?? []).length) throw fsError('ENOTEMPTY');
    if (r.upper) clearWhiteouts = u.upper.names(r.path).map((n) => childOf(r.path, n));
  }
  return { path: r.path, removeUpper: !!r.upper, clearWhiteouts, whiteout: r.shadows };
}

/** Creating a new entry at `path`: replace a whiteout there; a new directory over one is opaque. */
export interface CreatePlan {
  path: string;
  replaceWhiteout: boolean;
  opaque: boolean;
}

export function planCreate(u: UnionResolver, path: string, isDir: boolean): CreatePlan {
  if (u.resolve(path)) throw fsError('EEXIST');
  const parent = u.dir(parentOf(path));
  if (!parent) throw fsError(u.resolve(parentOf(path)) ? 'ENOTDIR' : 'ENOENT');
  const up = parent.upper ? u.upper.probe(path) : undefined;
  const whiteout = !!up?.whiteout;
  return { path, replaceWhiteout: whiteout, opaque: isDir && whiteout };
}

/** Rename plan (overlayfs with redirect_dir=on and metacopy=on). */
export interface RenamePlan {
  from: string;
  to: string;
  /** Copy the source up first (metadata only: a file becomes metacopy, a dir empty). */
  copyUpSource: boolean;
  /** The destination's upper entry (and whiteouts inside it) to remove before the move. */
  replace?: RemovePlan;
  /** Leave a whiteout at the source: the lower entry there must stay hidden. */
  whiteoutSource: boolean;
  /** Set on the moved entry: trusted.overlay.redirect = this absolute lower path. */
  redirect?: string;
  /** Mark the moved directory opaque (a pure upper dir landing over a lower entry). */
  opaque: boolean;
}

export function planRename(u: UnionResolver, src: Resolved, dstPath: string): RenamePlan {
  if (dstPath === src.path) return { from: src.path, to: dstPath, copyUpSource: false, whiteoutSource: false, opaque: false };
  if (src.node.type === 'dir' && (dstPath + '/').startsWith(src.path + '/')) throw fsError('EINVAL');
  const dst = u.resolve(dstPath);
  if (!u.dir(parentOf(dstPath))) throw fsError(u.resolve(parentOf(dstPath)) ? 'ENOTDIR' : 'ENOENT');
  if (dst && src.node.type === 'dir' && dst.node.type !== 'dir') throw fsError('ENOTDIR');
  if (dst && src.node.type !== 'dir' && dst.node.type === 'dir') throw fsError('EISDIR');
  const replace = dst ? planRemove(u, dst, dst.node.type === 'dir') : undefined;
  const isDir = src.node.type === 'dir';
  const mergesLower = isDir ? !!src.lower && src.lower.node.type === 'dir' && !src.upper?.opaque : false;
  const dataBelow = src.upper ? src.upper.metacopy : !!src.lower && src.lower.node.type === 'file';
  let redirect: string | undefined;
  if (isDir && mergesLower) redirect = absoluteRedirect(src.upper?.redirect, src.lower!.path);
  else if (!isDir && dataBelow) redirect = src.data?.path ?? src.lower?.path;
  const dstHasLower = dst ? dst.shadows : !!lowerAtNewPlace(u, dstPath);
  return {
    from: src.path, to: dstPath, copyUpSource: !src.upper, replace, whiteoutSource: src.shadows,
    redirect, opaque: isDir && !mergesLower && dstHasLower && !src.upper?.opaque,
  };
}

function absoluteRedirect(existing: string | undefined, lowerPath: string): string {
  return existing?.startsWith('/') ? existing : lowerPath;
}

/** The lower entry that would sit under a new entry at `path` (whited out or not). */
function lowerAtNewPlace(u: UnionResolver, path: string): Node | undefined {
  const parent = u.dir(parentOf(path));
  const p = parent && u.lowerPathIn(parent, baseOf(path));
  return p === undefined ? undefined : u.lower.lookup(p);
}

/** Parent directories of `path` (top first) that have no upper directory yet. */
export function missingUpperParents(u: UnionResolver, path: string): string[] {
  const out: string[] = [];
  for (let p = parentOf(path); p !== '/'; p = parentOf(p)) {
    const st = u.dir(p);
    if (!st) throw fsError('ENOENT');
    if (st.upper) break;
    out.unshift(p);
  }
  return out;
}
