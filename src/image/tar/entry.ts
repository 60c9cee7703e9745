/** Turning decoded headers into checked LayerEntry rows. */
import { ImgError } from '../../store/errors.js';
import type { EntryType, LayerEntry } from '../../store/types.js';
import { paxInt, paxName, paxText, paxTime, type PaxRecords, type RawHeader } from './headers.js';
import { isOpaqueMarker, whitedOutName, whiteoutProblem } from './whiteout.js';

/** Metadata headers ('x', 'L', 'K') read since the last entry; they apply to the next one. */
export interface Meta {
  pax?: PaxRecords;
  longName?: string;
  longLink?: string;
}

const XATTR = 'SCHILY.xattr.';

/** One-line INVALID_ARGUMENT naming the entry as written. */
export const entryError = (rawPath: string, why: string): ImgError =>
  new ImgError('INVALID_ARGUMENT', `entry ${JSON.stringify(rawPath)}: ${why}`);

/** The entry's path before normalization: PAX path, then GNU long name, then the header. */
export const rawPathOf = (h: RawHeader, meta: Meta): string => paxName(meta.pax, 'path') ?? meta.longName ?? h.name;

/** Data bytes that follow the header; entries other than files carry none (as Go's archive/tar reads them). */
export const dataSizeOf = (h: RawHeader, type: EntryType, meta: Meta): number =>
  type === 'file' ? paxInt(meta.pax, 'size') ?? h.size : 0;

/** The entry as the tar records it, path not yet normalized. */
export function toEntry(h: RawHeader, type: EntryType, meta: Meta, offset: number): LayerEntry {
  const { pax } = meta;
  const path = rawPathOf(h, meta);
  if ([...(pax?.keys() ?? [])].some((k) => k.startsWith('GNU.sparse.'))) {
    throw entryError(path, 'unsupported entry type: GNU sparse file (PAX)');
  }
  const mtime = mtimeOf(h, pax);
  const e: LayerEntry = {
    path, type, mode: h.mode & 0o7777, uid: paxInt(pax, 'uid') ?? h.uid, gid: paxInt(pax, 'gid') ?? h.gid,
    size: dataSizeOf(h, type, meta), mtimeSec: mtime.sec, mtimeNsec: mtime.nsec, whiteout: false, opaque: false, offset,
  };
  if (type === 'link' || type === 'symlink') e.linkname = paxName(pax, 'linkpath') ?? meta.longLink ?? h.linkname ?? '';
  if (type === 'char' || type === 'block') Object.assign(e, { devmajor: h.devmajor, devminor: h.devminor });
  const xattrs = xattrsOf(pax);
  if (xattrs) e.xattrs = xattrs;
  return e;
}

function mtimeOf(h: RawHeader, pax: PaxRecords | undefined): { sec: number; nsec: number } {
  const s = paxText(pax, 'mtime');
  return s === undefined ? { sec: Math.trunc(h.mtime.getTime() / 1000), nsec: 0 } : paxTime(s);
}

function xattrsOf(pax: PaxRecords | undefined): Record<string, Buffer> | undefined {
  let out: Record<string, Buffer> | undefined;
  for (const [k, v] of pax ?? []) {
    if (k.startsWith(XATTR) && k.length > XATTR.length) (out ??= {})[k.slice(XATTR.length)] = v;
  }
  return out;
}

/** `./a//b/` → `a/b`, `./` → ''; undefined when the path is absolute or climbs out with `..`. */
export function normalizePath(p: string): string | undefined {
  if (p.startsWith('/')) return undefined;
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  return parts.includes('..') ? undefined : parts.join('/');
}

/** Normalizes entries in archive order and rejects those that would escape the layer or misuse whiteout names. */
export class LayerChecker {
  private readonly seen = new Map<string, { type: EntryType; marker: boolean }>();

  accept(e: LayerEntry): LayerEntry {
    const p = normalizePath(e.path);
    if (p === undefined) throw entryError(e.path, 'path escapes the layer root');
    if (p === '' && e.type !== 'dir') throw entryError(e.path, 'the layer root must be a directory');
    const problem = whiteoutProblem(p, e.type);
    if (problem) throw entryError(e.path, problem);
    const base = p.slice(p.lastIndexOf('/') + 1);
    const opaque = isOpaqueMarker(base);
    const whiteout = whitedOutName(base) !== undefined;
    if (e.type === 'link') e.linkname = this.hardlinkTarget(e.path, e.linkname ?? '', opaque || whiteout);
    Object.assign(e, { path: p, opaque, whiteout });
    this.seen.set(p, { type: e.type, marker: opaque || whiteout });
    return e;
  }

  /** A hardlink joins a file to a file, or a marker to a marker: anything else would serve a marker's (empty) data as a file. */
  private hardlinkTarget(rawPath: string, target: string, marker: boolean): string {
    const t = normalizePath(target);
    const shown = JSON.stringify(target);
    if (t === undefined) throw entryError(rawPath, `hardlink target ${shown} escapes the layer root`);
    const prior = this.seen.get(t);
    if (prior === undefined) throw entryError(rawPath, `hardlink target ${shown} is not an earlier entry of this layer`);
    if (prior.type === 'dir') throw entryError(rawPath, `hardlink target ${shown} is a directory`);
    if (prior.marker !== marker) {
      throw entryError(rawPath, marker ? `invalid whiteout: a hardlink to ${shown}, which is no whiteout` : `hardlink target ${shown} is a whiteout`);
    }
    return t;
  }
}
