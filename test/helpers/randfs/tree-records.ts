/**
 * Trees as lists of records, compared entry by entry: from the union model
 * (mergeLayers, the executable specification) or from walking a real directory in a
 * child process (py/walk.py, which never runs in the process serving a mount).
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mergeLayers } from '../../../src/union/merge.js';
import { runOk } from '../proc.js';
import { toLayerEntries, type GenEntry, type GenLayer } from './random-layers.js';

export const PY_DIR = fileURLToPath(new URL('./py/', import.meta.url));

/** One entry; the JSON py/fsrecord.py prints. Bytes (paths, targets, xattr values) are hex. */
export interface FsRecord {
  /** Hex of the relative path's bytes; '' is the root. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block' | 'socket';
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  /** Inode identity within one tree (compared only as hardlink groups). */
  ino: string;
  /** "SEC.NSEC" */
  mtime: string;
  /** Regular files and symlinks. */
  size?: number;
  sha256?: string;
  link?: string;
  rdev?: [number, number];
  xattrs: Record<string, string>;
  /** Model only: a directory no layer records (a parent left implicit); never compared. */
  implicit?: true;
}

/** A path for messages: printable ASCII as is, other bytes as \xNN. */
export function showPath(hex: string): string {
  const b = Buffer.from(hex, 'hex');
  let s = '/';
  for (const c of b) s += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return s.length > 120 ? `${s.slice(0, 60)}…${s.slice(-50)} (${b.length} bytes)` : s;
}

const hex = (latin1: string) => Buffer.from(latin1, 'latin1').toString('hex');
const mtimeText = (sec: number, nsec: number) => {
  const ns = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
  const s = ns < 0n ? -((-ns + 999_999_999n) / 1_000_000_000n) : ns / 1_000_000_000n;
  return `${s}.${String(ns - s * 1_000_000_000n).padStart(9, '0')}`;
};

/** The merged tree as the union model says the mount must show it. */
export function modelRecords(layers: GenLayer[]): FsRecord[] {
  return modelTree(layers).records;
}

/** The model's records, and the bytes of each regular file (by hex path). */
export function modelTree(layers: GenLayer[]): { records: FsRecord[]; contents: Map<string, Buffer> } {
  const contents = new Map<string, Buffer>();
  const tree = mergeLayers(layers.map((l) => ({ entries: toLayerEntries(l) })));
  const source = new Map<string, GenEntry>();
  layers.forEach((l, i) => l.entries.forEach((e) => source.set(`${i}\0${e.path.toString('latin1')}`, e)));
  const out: FsRecord[] = [];
  for (const m of tree.entries.values()) {
    const e = m.entry;
    const type = e.type === 'link' ? 'file' : e.type;
    const r: FsRecord = {
      path: hex(m.path), type, mode: e.mode, uid: e.uid, gid: e.gid, nlink: m.nlink, ino: String(m.ino),
      mtime: mtimeText(e.mtimeSec, e.mtimeNsec), xattrs: {},
    };
    for (const [k, v] of Object.entries(e.xattrs ?? {})) r.xattrs[k] = v.toString('hex');
    if (type === 'file') {
      const content = source.get(`${m.layer}\0${e.path}`)?.content ?? Buffer.alloc(0);
      contents.set(r.path, content);
      Object.assign(r, { size: content.length, sha256: createHash('sha256').update(content).digest('hex') });
    }
    if (type === 'symlink') Object.assign(r, { link: hex(e.linkname ?? ''), size: Buffer.byteLength(e.linkname ?? '', 'latin1') });
    if (type === 'char' || type === 'block') r.rdev = [e.devmajor ?? 0, e.devminor ?? 0];
    if (m.layer < 0) r.implicit = true;
    out.push(r);
  }
  return { records: out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)), contents };
}

/** Walks each root in one python3 child process. */
export async function walkTrees(...roots: string[]): Promise<FsRecord[][]> {
  const r = await runOk('python3', ['-B', `${PY_DIR}walk.py`, ...roots], { timeout: 120_000 });
  return JSON.parse(r.stdout) as FsRecord[][];
}

export type Field = Exclude<keyof FsRecord, 'path' | 'ino'> | 'hardlinks' | 'dirNlink';

export interface RecordDiffOptions {
  labels?: [string, string];
  /**
   * Fields not compared, for every entry or per entry of the first tree; 'dirNlink' is nlink
   * of directories only, 'hardlinks' the groups of names sharing an inode.
   */
  ignore?: Field[] | ((a: FsRecord) => Field[]);
  /** Paths (hex) left out, with everything below them. */
  skip?: (pathHex: string) => boolean;
}

/** For each non-directory path, the sorted paths that share its inode (itself included). */
function hardlinkGroups(records: FsRecord[]): Map<string, string> {
  const byIno = new Map<string, string[]>();
  for (const r of records) if (r.type !== 'dir') byIno.set(r.ino, [...(byIno.get(r.ino) ?? []), r.path]);
  const out = new Map<string, string>();
  for (const paths of byIno.values()) {
    const group = paths.sort().map(showPath).join(' ');
    for (const p of paths) out.set(p, group);
  }
  return out;
}

const FIELDS: Field[] = ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'link', 'rdev', 'xattrs', 'nlink', 'dirNlink', 'mtime', 'hardlinks'];

const show = (f: Field, v: unknown): string => {
  if (v === undefined) return '-';
  if (f === 'mode') return (v as number).toString(8).padStart(4, '0');
  if (f === 'link') return showPath(v as string).slice(1);
  return typeof v === 'string' ? v : JSON.stringify(v);
};

/** One line per difference, `path: field a=.. b=..`; empty when the trees are equal. */
export function diffRecords(a: FsRecord[], b: FsRecord[], opts: RecordDiffOptions = {}): string[] {
  const [la, lb] = opts.labels ?? ['a', 'b'];
  const ignoreOf = (r: FsRecord) => new Set(typeof opts.ignore === 'function' ? opts.ignore(r) : opts.ignore ?? []);
  const skipped = (p: string) => opts.skip !== undefined && [...prefixes(p)].some(opts.skip);
  const ma = new Map(a.map((r) => [r.path, r]));
  const mb = new Map(b.map((r) => [r.path, r]));
  const [ga, gb] = [hardlinkGroups(a), hardlinkGroups(b)];
  const out: string[] = [];
  for (const p of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
    if (skipped(p)) continue;
    const [ra, rb] = [ma.get(p), mb.get(p)];
    if (!ra || !rb) {
      out.push(`${showPath(p)}: only in ${ra ? la : lb} (${(ra ?? rb)!.type})`);
      continue;
    }
    const ignore = ignoreOf(ra);
    for (const f of FIELDS) {
      if (ignore.has(f)) continue;
      const isDir = ra.type === 'dir';
      if ((f === 'nlink' && isDir) || (f === 'dirNlink' && !isDir) || (f === 'hardlinks' && isDir)) continue;
      const key = f === 'dirNlink' ? 'nlink' : f;
      const [va, vb] = f === 'hardlinks' ? [ga.get(p), gb.get(p)] : [ra[key as keyof FsRecord], rb[key as keyof FsRecord]];
      const same = f === 'xattrs' ? JSON.stringify(Object.entries(va as object).sort()) === JSON.stringify(Object.entries(vb as object).sort())
        : JSON.stringify(va) === JSON.stringify(vb);
      if (!same) out.push(`${showPath(p)}: ${f} ${la}=${show(f, va)} ${lb}=${show(f, vb)}`);
    }
  }
  return out;
}

/** `p` and each of its ancestors (hex paths), root '' included. */
function* prefixes(p: string): Generator<string> {
  const b = Buffer.from(p, 'hex');
  yield '';
  for (let i = 0; i < b.length; i++) if (b[i] === 0x2f) yield b.subarray(0, i).toString('hex');
  if (b.length) yield p;
}
