import { childOf, UnionResolver } from '../union/container.js';
import type { MergedView } from '../view.js';
import { HostUpper } from './host-upper.js';

/** docker diff's kinds: Added, Changed, Deleted. */
export type ChangeKind = 'A' | 'C' | 'D';

export interface Change {
  kind: ChangeKind;
  path: string;
}

/**
 * The changes a writable layer makes to its image, as docker diff reports them (sorted by path):
 * A for entries only the upper layer has (a moved directory and all it shows count as added),
 * C for upper entries over lower ones (so every copied-up parent), D for whiteouts over lower
 * entries and for lower children an opaque directory hides.
 */
export function containerDiff(lower: MergedView, upperDir: string, workDir: string): Change[] {
  const upper = new HostUpper(upperDir, workDir);
  const u = new UnionResolver(lower, upper);
  const out: Change[] = [];
  const addTree = (p: string): void => {
    out.push({ kind: 'A', path: p });
    for (const n of u.list(p) ?? []) addTree(childOf(p, n));
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
      out.push({ kind: below ? 'C' : 'A', path: p });
      if (up.node.type !== 'dir') continue;
      if (up.opaque && below?.type === 'dir' && lowerPath !== undefined) {
        const shown = new Set(u.list(p));
        for (const n of lower.readdir(lowerPath) ?? []) if (!shown.has(n)) out.push({ kind: 'D', path: childOf(p, n) });
      }
      walk(p);
    }
  };
  walk('/');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
