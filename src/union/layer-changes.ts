import type { EntryType, LayerEntry } from '../store/types.js';
import { mergeLayers, type LayerInput, type MergedTree, type MergeSlot, type MergeState } from './merge.js';

/** docker diff's kinds: Added, Changed (replaced), Deleted. */
export type ChangeKind = 'A' | 'C' | 'D';

/** How one layer changed one path of the merged view below it. */
export interface LayerChange {
  /** Index into the bottom-to-top layer list. */
  layer: number;
  path: string;
  kind: ChangeKind;
  /** What docker diff lists: every A and C but the root, and a D whose parent is still a directory. */
  listed: boolean;
  /** The type after the change (A, C) or before it (D); a hardlink has its target's type. */
  type: EntryType;
  /** An A or C of a directory the layer does not record (it holds entries the layer adds). */
  implicit: boolean;
}

const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const baseOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);
const WHITEOUT = '.wh.';

/**
 * The slots a layer can change, taken before it is applied: its entries and their
 * ancestors, and everything below what a whiteout, an opaque marker or a non-directory
 * entry may hide.
 */
function slotsBefore(entries: LayerEntry[], state: MergeState): Map<string, MergeSlot | undefined> {
  const before = new Map<string, MergeSlot | undefined>();
  const take = (p: string) => before.has(p) || before.set(p, state.get(p));
  const expanded = new Set<string>();
  const subtree = (p: string): void => {
    if (expanded.has(p)) return;
    expanded.add(p);
    take(p);
    if (state.get(p)?.entry.type === 'dir') for (const n of state.names(p)) subtree(join(p, n));
  };
  const climbed = new Set<string>();
  for (const e of entries) {
    if (e.opaque) subtree(parentOf(e.path));
    else if (e.whiteout) subtree(join(parentOf(e.path), baseOf(e.path).slice(WHITEOUT.length)));
    else {
      for (let p = e.path; !climbed.has(p); p = parentOf(p)) {
        climbed.add(p);
        take(p);
        if (p === '') break;
      }
      if (e.type !== 'dir') subtree(e.path);
    }
  }
  return before;
}

/** Compare the slots taken before a layer with the state after it; a replaced slot object is a change. */
function diffSlots(index: number, before: Map<string, MergeSlot | undefined>, state: MergeState): LayerChange[] {
  const out: LayerChange[] = [];
  for (const [path, old] of before) {
    const now = state.get(path);
    if (now === old) continue;
    if (!now) {
      const parent = state.get(parentOf(path));
      out.push({ layer: index, path, kind: 'D', listed: parent?.entry.type === 'dir', type: old!.entry.type, implicit: false });
    } else {
      out.push({ layer: index, path, kind: old ? 'C' : 'A', listed: path !== '', type: now.entry.type, implicit: now.layer < 0 });
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The merged view of the layers and what each layer changes in the view of the layers below it,
 * from one mergeLayers pass: per layer (bottom to top), its changes sorted by path.
 */
export function mergeWithChanges(layersBottomToTop: LayerInput[]): { tree: MergedTree; changes: LayerChange[][] } {
  const changes: LayerChange[][] = [];
  let before = new Map<string, MergeSlot | undefined>();
  const tree = mergeLayers(layersBottomToTop, {
    beforeLayer: (_i, state, entries) => {
      before = slotsBefore(entries, state);
    },
    afterLayer: (i, state) => {
      changes.push(diffSlots(i, before, state));
    },
  });
  return { tree, changes };
}

/** What each layer changes in the merged view of the layers below it (see mergeWithChanges). */
export const layerChanges = (layersBottomToTop: LayerInput[]): LayerChange[][] => mergeWithChanges(layersBottomToTop).changes;
