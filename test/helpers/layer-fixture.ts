import type { LayerEntry } from '../../src/store/types.js';
import { extractedEntries } from '../../src/union/layer-extract.js';

/** Declarative layer fixtures for union tests: layer(file('a', 'x'), remove('b'), opaque('d')). */
type Part = Partial<LayerEntry> & { path: string };

const base = (p: Part): LayerEntry => ({
  type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtimeSec: 0, mtimeNsec: 0,
  whiteout: false, opaque: false, offset: 0, ...p,
});

export const file = (path: string, content = '', extra: Partial<LayerEntry> = {}): LayerEntry =>
  base({ path, size: content.length, linkname: content, ...extra });
export const dir = (path: string, extra: Partial<LayerEntry> = {}): LayerEntry => base({ path, type: 'dir', mode: 0o755, ...extra });
export const symlink = (path: string, target: string): LayerEntry => base({ path, type: 'symlink', mode: 0o777, linkname: target });
export const hardlink = (path: string, target: string): LayerEntry => base({ path, type: 'link', linkname: target });
export const remove = (path: string): LayerEntry => {
  const i = path.lastIndexOf('/');
  return base({ path: `${path.slice(0, i + 1)}.wh.${path.slice(i + 1)}`, whiteout: true });
};
export const opaque = (dirPath: string): LayerEntry => base({ path: dirPath ? `${dirPath}/.wh..wh..opq` : '.wh..wh..opq', opaque: true });
/** A layer as ingest records it: a path named twice is settled in archive order (extractedEntries). */
export const layer = (...entries: LayerEntry[]) => ({ entries: extractedEntries(entries) });
