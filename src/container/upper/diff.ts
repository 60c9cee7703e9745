import { childOf, UnionResolver } from '../../union/container.js';
import type { MergedView } from '../../union/view.js';
import { HostUpper } from './host-upper.js';

/** docker diff's kinds: Added, Changed, Deleted. */
export type ChangeKind = 'A' | 'C' | 'D';

export interface Change {
  kind: ChangeKind;
  path: string;
}

/**
 * The changes a writable layer makes to its image, as docker diff reports them (sorted by path):
 * A for entries only the upper layer has (a moved directory and all it shows count as added,
 * except paths the image also has, which are C), C for upper entries over lower ones (so every
 * copied-up parent), D for whiteouts over lower entries and for lower children an opaque or a
 * moved-in directory hides.
 */
export function containerDiff(lower: MergedView, upperDir: string, workDir: string): Change[] {
  const upper = new HostUpper(upperDir, workDir);
  const u = new UnionResolver(lower, upper);
  const out: Change[] = [];
  // D for the children the image has at `p` that the merged directory `p` no longer shows.
  const hiddenChildren = (p: string, shown: string[]): void => {
    if (lower.lookup(p)?.type !== 'dir') return;
    for (const n of lower.readdir(p) ?? []) if (!shown.includes(n)) out.push({ kind: 'D', path: childOf(p, n) });
  };
  // Everything a moved directory shows is new at its path, unless the image has that path too.
  const addTree = (p: string): void => {
    out.push({ kind: lower.lookup(p) ? 'C' : 'A', path: p });
    const shown = u.list(p) ?? [];
    for (const n of shown) addTree(childOf(p, n));
    hiddenChildren(p, shown);
  };
  const walk = (dir: string): void => {
    const state = u.dir(dir)!;
    for (const name of upper.names(dir)) {
      const p = childOf(dir, name);
      const up = upper.probe(p)!;
      const lowerPath = u.lowerPathIn(state, name);
      const below = lowerPath === undefined ? undefined : lower.lookup(lowerPath);
      if (up.whiteout) {
        if (below) out.push({ kind: 'D', path: p });
        continue;
      }
      const r = u.resolve(p)!;
      const moved = up.node.type === 'dir' && r.lower !== undefined && r.lower.path !== lowerPath;
      if (moved || (!below && up.node.type === 'dir' && r.lower)) {
        addTree(p);
        continue;
      }
      // In an opaque directory `below` is undefined, yet the image may have the path.
      out.push({ kind: below || lower.lookup(p) ? 'C' : 'A', path: p });
      if (up.node.type !== 'dir') continue;
      if (u.dir(p)?.lower !== p) hiddenChildren(p, u.list(p) ?? []); // opaque, or inside an opaque dir
      walk(p);
    }
  };
  walk('/');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
