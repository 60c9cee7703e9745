/** OCI/AUFS whiteout naming, shared by tar ingest and the union resolver. */
import type { EntryType } from '../../store/types.js';

/** Basename prefix of a whiteout: `.wh.NAME` hides NAME in lower layers. */
export const WHITEOUT_PREFIX = '.wh.';

/** Basename of the marker that hides a directory's lower contents; check it before the prefix rule. */
export const OPAQUE_MARKER = '.wh..wh..opq';

/** Prefix of AUFS metadata names; of these only OPAQUE_MARKER means anything in an OCI layer. */
const META_PREFIX = `${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`;

/** True when `base` is the opaque-directory marker. */
export const isOpaqueMarker = (base: string): boolean => base === OPAQUE_MARKER;

/** The name a whiteout basename hides, or undefined when `base` is no whiteout. */
export const whitedOutName = (base: string): string | undefined =>
  base.startsWith(WHITEOUT_PREFIX) && !isOpaqueMarker(base) ? base.slice(WHITEOUT_PREFIX.length) : undefined;

/** A marker is an empty regular file (or a hardlink to one: some tar writers link identical empty files). */
const MARKER_TYPES: ReadonlySet<EntryType> = new Set(['file', 'link']);

/**
 * Why the normalized layer path `p` is not a valid use of whiteout names, or undefined when
 * it is fine. Each rejected form would make the union do something no layer means: `.wh.`
 * hides its own directory (at the root, the whole image), `.wh..` and `.wh...` hide `.` and
 * `..`, a marker with entries under it is a directory, not a marker.
 */
export function whiteoutProblem(p: string, type: EntryType): string | undefined {
  const parts = p.split('/');
  const base = parts.pop()!;
  const inside = parts.find((c) => c.startsWith(WHITEOUT_PREFIX));
  if (inside !== undefined) return `invalid whiteout: "${inside}" has entries under it`;
  if (!base.startsWith(WHITEOUT_PREFIX)) return undefined;
  if (base.startsWith(META_PREFIX) && !isOpaqueMarker(base)) {
    return `invalid whiteout: names starting with "${META_PREFIX}" are reserved (only "${OPAQUE_MARKER}" is valid)`;
  }
  const hidden = whitedOutName(base);
  if (hidden === '') return `invalid whiteout: it names no file${parts.length === 0 ? ' (it would hide the layer root)' : ''}`;
  if (hidden === '.' || hidden === '..') return `invalid whiteout: it would hide "${hidden}"`;
  if (!MARKER_TYPES.has(type)) return `invalid whiteout: a whiteout must be a regular file, not a ${type}`;
  return undefined;
}
