import type { LayerEntry } from '../store/types.js';

const under = (dir: string, p: string) => dir === '' || p.startsWith(`${dir}/`);

/**
 * One entry per path: what extracting a layer's tar in order leaves, as docker's and umoci's
 * unpackers do. The layer index keeps one row per path, so a tar that names a path twice is
 * resolved here, in archive order, before anything is recorded or merged:
 * - a later entry replaces an earlier one; unless both are directories (whose metadata the
 *   later one sets) it also drops everything the earlier directory held;
 * - a hardlink shares its target's inode, so when the target is replaced or dropped later the
 *   first of its links takes its place with the old data and the other links point there;
 * - a hardlink to a path that no longer exists links nothing (extraction would fail) and is left out.
 * Links come out pointing at the entry that holds the data, never at another link.
 */
export function extractedEntries(entries: LayerEntry[]): LayerEntry[] {
  const paths = new Set<string>();
  for (const e of entries) {
    if (paths.has(e.path)) return new InOrder(entries).result();
    paths.add(e.path);
  }
  return entries;
}

class InOrder {
  private readonly out = new Map<string, LayerEntry>();
  /** Target path → the links that share its inode, in archive order. */
  private readonly links = new Map<string, string[]>();

  constructor(entries: LayerEntry[]) {
    for (const e of entries) this.add(e);
  }

  result(): LayerEntry[] {
    return [...this.out.values()];
  }

  private add(e: LayerEntry): void {
    const old = this.out.get(e.path);
    if (old && !(old.type === 'dir' && e.type === 'dir')) this.drop(e.path);
    if (e.type !== 'link') {
      this.out.set(e.path, e);
      return;
    }
    const target = this.out.get(e.linkname ?? '');
    if (!target) return;
    const root = target.type === 'link' ? target.linkname! : target.path;
    this.out.set(e.path, { ...e, linkname: root });
    this.links.set(root, [...(this.links.get(root) ?? []), e.path]);
  }

  /** Removes `path` (and, for a directory, what it holds), handing a hardlink target's data on. */
  private drop(path: string): void {
    const e = this.out.get(path)!;
    if (e.type === 'dir') {
      for (const p of [...this.out.keys()]) if (p !== path && under(path, p)) this.dropOne(p);
    }
    this.dropOne(path);
  }

  private dropOne(path: string): void {
    const e = this.out.get(path);
    if (!e) return;
    this.out.delete(path);
    if (e.type === 'link') {
      const rest = this.links.get(e.linkname!)!.filter((l) => l !== path);
      if (rest.length) this.links.set(e.linkname!, rest);
      else this.links.delete(e.linkname!);
      return;
    }
    const [heir, ...others] = this.links.get(path) ?? [];
    if (heir === undefined) return;
    this.links.delete(path);
    this.out.set(heir, { ...e, path: heir });
    for (const l of others) this.out.set(l, { ...this.out.get(l)!, linkname: heir });
    if (others.length) this.links.set(heir, others);
  }
}
