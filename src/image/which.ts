/** lamina which: for a path of an image, the layer that provides it, what it shadows, or what deleted it. */
import { QueryIndex, type ChangeRow } from '../store/query-index.js';
import type { Store } from '../store/store.js';
import type { Digest, EntryType } from '../store/types.js';
import { imageQueryData } from './query-data.js';
import { baseName, childKey, parentKey, pathKey, shownPath } from './image-path.js';
import { resolveImage } from './resolve.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './tar/whiteout.js';

/** A layer by its number in `lamina layers` (1 = base) and its diff_id. */
export interface LayerRef {
  layer: number;
  diffId: Digest;
}

export interface WhichAnswer {
  path: string;
  /** present: in the merged view; deleted: some layer had it, a higher one removed it; absent: no layer has it. */
  status: 'present' | 'deleted' | 'absent';
  /** present: the providing layer (none for an implicit directory); deleted: the layer that removed it. */
  by?: LayerRef;
  /** The type it has (present) or had (deleted). */
  type?: EntryType;
  /** A directory no layer records, made for the entries below it. */
  implicit?: boolean;
  /** The providing layer records a hardlink to this path. */
  hardlinkTo?: string;
  /** How a deleting layer removed it: 'whiteout', 'whiteout of /a', 'opaque directory /a', '/a replaced by a file'. */
  reason?: string;
  /** present: lower layers whose entries it shadows; deleted: the layers whose entries it hides; newest first. */
  below: LayerRef[];
  /** Every change to the path, base first. */
  history: Array<LayerRef & { kind: ChangeRow['kind']; type: EntryType; implicit: boolean }>;
}

/** Answer for each path (as typed) of the image `ref`. */
export function whichPaths(store: Store, ref: string, paths: string[]): WhichAnswer[] {
  const { id } = resolveImage(store, ref);
  const keys = paths.map(pathKey);
  const queries = new QueryIndex(store.index.db);
  const set = imageQueryData(store, queries, id);
  const diffIds = store.index.imageLayers(id).map((l) => l.diffId);
  const layerRef = (position: number): LayerRef => ({ layer: position + 1, diffId: diffIds[position]! });
  return keys.map((key) => {
    const rows = queries.changesOf(set, key);
    const history = rows.map((r) => ({ ...layerRef(r.position), kind: r.kind, type: r.type, implicit: r.implicit }));
    const last = rows.at(-1);
    const path = shownPath(key);
    if (!last) {
      // Only the root exists without any layer's change: it is always there.
      return key === '' ? { path, status: 'present', type: 'dir', implicit: true, below: [], history } : { path, status: 'absent', below: [], history };
    }
    // The entries the last change replaced or removed: the recorded ones since the previous removal.
    const below: LayerRef[] = [];
    for (let i = rows.length - 2; i >= 0 && rows[i]!.kind !== 'D'; i--) if (!rows[i]!.implicit) below.push(layerRef(rows[i]!.position));
    const by = layerRef(last.position);
    if (last.kind === 'D') {
      return { path, status: 'deleted', by, type: last.type, reason: removalReason(queries, by.diffId, key), below, history };
    }
    const answer: WhichAnswer = { path, status: 'present', type: last.type, below, history };
    if (last.implicit) answer.implicit = true;
    else answer.by = by;
    const e = last.implicit ? undefined : queries.entry(by.diffId, key);
    if (e?.type === 'link') answer.hardlinkTo = shownPath(e.linkname ?? '');
    return answer;
  });
}

/** How layer `diffId` removed `key`: its own whiteout, or what the layer did to the nearest ancestor. */
function removalReason(queries: QueryIndex, diffId: Digest, key: string): string {
  const has = (k: string) => queries.entry(diffId, k) !== undefined;
  const whiteoutOf = (k: string) => childKey(parentKey(k), `${WHITEOUT_PREFIX}${baseName(k)}`);
  if (has(whiteoutOf(key))) return 'whiteout';
  for (let a = parentKey(key); ; a = parentKey(a)) {
    if (has(childKey(a, OPAQUE_MARKER))) return `opaque directory ${shownPath(a)}`;
    if (a === '') break;
    if (has(whiteoutOf(a))) return `whiteout of ${shownPath(a)}`;
    const e = queries.entry(diffId, a);
    if (e && e.type !== 'dir') return `${shownPath(a)} replaced by a ${e.type === 'link' ? 'hardlink' : e.type}`;
  }
  return 'removed';
}
