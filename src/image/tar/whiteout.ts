/** OCI/AUFS whiteout naming, shared by tar ingest and the union resolver. */

/** Basename prefix of a whiteout: `.wh.NAME` hides NAME in lower layers. */
export const WHITEOUT_PREFIX = '.wh.';

/** Basename of the marker that hides a directory's lower contents; check it before the prefix rule. */
export const OPAQUE_MARKER = '.wh..wh..opq';

/** True when `base` is the opaque-directory marker. */
export const isOpaqueMarker = (base: string): boolean => base === OPAQUE_MARKER;

/** The name a whiteout basename hides, or undefined when `base` is no whiteout. */
export const whitedOutName = (base: string): string | undefined =>
  base.startsWith(WHITEOUT_PREFIX) && !isOpaqueMarker(base) ? base.slice(WHITEOUT_PREFIX.length) : undefined;
