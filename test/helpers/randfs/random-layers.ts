/**
 * Seeded random layer stacks for conformance tests: files with random bytes, modes
 * (setuid/setgid/sticky included), owners and nanosecond mtimes, directories, symlinks,
 * hardlinks within a layer, fifos and devices, binary xattrs, whiteouts, opaque
 * directories, type changes across layers, deep paths and odd names. Paths are bytes
 * (Buffers) so names that are not UTF-8 survive; `toLayerEntries` hands the model the
 * same bytes as latin1 strings (one char per byte, '/' stays '/').
 */
import type { LayerEntry } from '../../../src/store/types.js';
import { extractedEntries } from '../../../src/union/layer-extract.js';
import { Rng } from './rng.js';

export type GenType = 'file' | 'dir' | 'symlink' | 'link' | 'fifo' | 'char' | 'block' | 'whiteout' | 'opaque';

/** One tar member. For 'whiteout' and 'opaque', `path` is the hidden path or the opaque directory. */
export interface GenEntry {
  /** Relative path bytes without a leading or trailing '/'; empty for the layer root. */
  path: Buffer;
  type: GenType;
  mode: number;
  uid: number;
  gid: number;
  mtime: [sec: number, nsec: number];
  content?: Buffer;
  /** Symlink target, or the path of the earlier entry a hardlink points at. */
  linkname?: Buffer;
  dev?: [major: number, minor: number];
  xattrs?: Array<[name: string, value: Buffer]>;
}

/** Entries in tar order. */
export interface GenLayer {
  entries: GenEntry[];
}

export interface StackOptions {
  /** Number of layers (default 2 to 4). */
  layers?: number;
  /** Actions in the first layer; later layers get about half (default 60). */
  size?: number;
  /** Also use names with bytes that are not UTF-8 (default false). */
  nonUtf8?: boolean;
  /** Mtimes before 1970 and after 2106 as well (default true). */
  extremeTimes?: boolean;
  /** Give the root this mode (owner root) in the first layer only; default: random root entries. */
  rootMode?: number;
}

type Kind = Exclude<GenType, 'link' | 'whiteout' | 'opaque'>;

const S = (s: string) => Buffer.from(s, 'utf8');
const NAMES = ['a', 'b', 'c', 'etc', 'bin', 'lib', 'usr', 'data', 'x1', 'README', 'file.txt', 'Makefile', 'sub', 'd', 'e.conf'].map(S);
const ODD_NAMES = [
  'with space', ' lead', 'trail ', 'new\nline', 'tab\there', 'ünïcödé', '日本語', '🙂 smile', '-dash', '..dots', '.hidden',
  'back\\slash', `quo"te'`, '*?[x]', '%s%n', 'CAPS', '.wh', 'wh.x', '#hash', '=eq', 'a:b', '\u00a0nbsp',
].map(S);
const NON_UTF8_NAMES = [[0xff, 0xfe], [0x62, 0x61, 0x64, 0x80], [0xc3], [0x63, 0x61, 0x66, 0xe9], [0xed, 0xa0, 0x80], [0x20, 0xc0, 0xaf]]
  .map((b) => Buffer.from(b));
const UIDS = [0, 0, 0, 1, 33, 1000, 1000, 65534, 12345, 3_000_000, 4_294_967_294];
const FILE_MODES = [0o644, 0o644, 0o755, 0o600, 0o444, 0o000, 0o4755, 0o2755, 0o6711, 0o1644, 0o777, 0o640];
const DIR_MODES = [0o755, 0o755, 0o700, 0o1777, 0o2775, 0o555, 0o000, 0o711, 0o4755];
const DEVICES: Array<[number, number]> = [[1, 3], [1, 5], [4, 64], [136, 0], [10, 200], [259, 65536], [4095, 1048575], [8, 1]];
const XATTR_NAMES = ['user.a', 'user.mime_type', 'user.k1', 'user.with.dots', 'user.x'.padEnd(60, 'x')];

const join = (dir: Buffer, name: Buffer) => (dir.length ? Buffer.concat([dir, S('/'), name]) : name);
const key = (p: Buffer) => p.toString('latin1');
const parentKey = (k: string) => (k.includes('/') ? k.slice(0, k.lastIndexOf('/')) : '');
const under = (k: string, dir: string) => dir === '' ? k !== '' : k.startsWith(`${dir}/`);

/** Builds one stack: a random walk over a tracked merged state, so later layers hit earlier paths. */
class StackBuilder {
  /** The merged state so far (latin1 path → kind); '' is the root. */
  private readonly state = new Map<string, Kind>([['', 'dir']]);
  /** This layer's entries, and paths it already wrote (or whose lower contents it changed). */
  private layer: GenEntry[] = [];
  private touched = new Set<string>();
  private serial = 0;

  constructor(private readonly rng: Rng, private readonly opts: Required<Omit<StackOptions, 'rootMode'>> & StackOptions) {}

  build(): GenLayer[] {
    const out: GenLayer[] = [];
    for (let i = 0; i < this.opts.layers; i++) {
      this.layer = [];
      this.touched = new Set();
      const root = { ...this.meta('dir'), path: Buffer.alloc(0), type: 'dir' as const };
      if (this.opts.rootMode === undefined ? this.rng.chance(0.3) : i === 0) {
        this.emit(this.opts.rootMode === undefined ? root : { ...root, mode: this.opts.rootMode, uid: 0, gid: 0 });
      }
      const n = i === 0 ? this.opts.size : Math.ceil(this.opts.size / 2);
      for (let k = 0; k < n; k++) this.step(i === 0);
      out.push({ entries: this.layer });
    }
    return out;
  }

  private step(first: boolean): void {
    const r = this.rng;
    const action = r.weighted({
      file: 30, dir: 10, symlink: 8, hardlink: 6, special: 4, deep: 3,
      whiteout: first ? 0 : 10, opaque: first ? 0 : 4, retype: first ? 0 : 8, modify: first ? 0 : 10,
    });
    switch (action) {
      case 'file': case 'dir': case 'symlink': case 'special':
        return this.create(this.freshPath(), action === 'special' ? r.pick(['fifo', 'char', 'block'] as const) : action);
      case 'deep': {
        let p = this.freshPath();
        for (let d = r.range(3, 9); d > 0 && p.length < 2500; d--) p = join(p, this.name());
        return this.create(p, 'file');
      }
      case 'hardlink': return this.hardlink();
      case 'whiteout': return this.whiteout();
      case 'opaque': return this.opaque();
      case 'retype': {
        const p = this.lowerPath((k) => k !== '');
        if (p) this.create(p, r.pick((['file', 'dir', 'symlink', 'fifo'] as const).filter((t) => t !== this.state.get(key(p)))));
        return;
      }
      case 'modify': {
        const p = this.lowerPath((k) => k !== '' && this.state.get(k) !== undefined);
        if (p) this.create(p, this.state.get(key(p))!);
      }
    }
  }

  /** Random metadata for a new entry of `type`. */
  private meta(type: Kind): Omit<GenEntry, 'path' | 'type'> {
    const r = this.rng;
    const m: Omit<GenEntry, 'path' | 'type'> = {
      mode: type === 'symlink' ? 0o777 : type === 'dir' ? r.pick(DIR_MODES) : r.chance(0.15) ? r.int(0o10000) : r.pick(FILE_MODES),
      uid: r.pick(UIDS), gid: r.pick(UIDS), mtime: this.mtime(),
    };
    if ((type === 'file' || type === 'dir') && r.chance(0.25)) {
      const names = [...new Set(Array.from({ length: r.range(1, 3) }, () => r.pick(XATTR_NAMES)))];
      m.xattrs = names.map((n) => [n, r.chance(0.5) ? r.bytes(r.range(1, 100)) : S(`text value ${r.int(1000)}`)]);
    }
    return m;
  }

  private mtime(): [number, number] {
    const r = this.rng;
    const nsec = r.chance(0.3) ? 0 : r.int(1e9);
    if (this.opts.extremeTimes && r.chance(0.08)) return [r.pick([0, -1, -1_000_000_000, 2 ** 32 + 5, 2 ** 33 + 7]), nsec];
    return [r.range(946_684_800, 1_900_000_000), nsec];
  }

  private name(): Buffer {
    const r = this.rng;
    const pool = r.weighted({ plain: 12, odd: 4, long: 1, bad: this.opts.nonUtf8 ? 2 : 0 });
    const base = pool === 'plain' ? r.pick(NAMES) : pool === 'odd' ? r.pick(ODD_NAMES) : pool === 'bad' ? r.pick(NON_UTF8_NAMES)
      : Buffer.alloc(r.range(100, 250), 0x6c);
    // a serial suffix now and then keeps names from colliding too often
    return r.chance(0.5) && base.length < 240 ? Buffer.concat([base, S(`-${this.serial++}`)]) : base;
  }

  /** A path not written yet in this layer, under a directory of the current state. */
  private freshPath(): Buffer {
    for (;;) {
      const dirs = [...this.state].filter(([, t]) => t === 'dir').map(([k]) => k);
      const p = join(Buffer.from(this.rng.pick(dirs), 'latin1'), this.name());
      if (!this.touched.has(key(p)) && ![...this.touched].some((t) => under(t, key(p)))) return p;
    }
  }

  /** A path from lower layers that this layer has not touched (nor anything below it). */
  private lowerPath(ok: (k: string) => boolean): Buffer | undefined {
    const cands = [...this.state.keys()].filter((k) => ok(k) && !this.isTouched(k));
    return cands.length ? Buffer.from(this.rng.pick(cands), 'latin1') : undefined;
  }

  private isTouched(k: string): boolean {
    return this.touched.has(k) || [...this.touched].some((t) => under(t, k));
  }

  private emit(e: GenEntry): void {
    this.layer.push(e);
    const k = key(e.path);
    if (e.type === 'whiteout') this.drop(k, true);
    else if (e.type === 'opaque') this.drop(k, false);
    else {
      const kind: Kind = e.type === 'link' ? this.state.get(key(e.linkname!))! : e.type;
      if (kind !== 'dir' || this.state.get(k) !== 'dir') this.drop(k, true);
      this.state.set(k, kind);
    }
    this.touched.add(k);
  }

  /** Removes `k` (or only what is below it) from the tracked state. */
  private drop(k: string, self: boolean): void {
    for (const p of [...this.state.keys()]) if (under(p, k) || (self && p === k)) this.state.delete(p);
  }

  /** Parent directories as explicit entries where the state has no directory (a type change), sometimes implicit. */
  private parents(p: Buffer): void {
    const k = key(p);
    const parent = parentKey(k);
    if (k === '' || this.state.get(parent) === 'dir') return;
    this.parents(Buffer.from(parent, 'latin1'));
    if (this.state.get(parent) === undefined && this.rng.chance(0.05)) {
      this.state.set(parent, 'dir'); // no entry: the tar leaves this parent implicit
      this.touched.add(parent);
    } else this.emit({ ...this.meta('dir'), path: Buffer.from(parent, 'latin1'), type: 'dir' });
  }

  private create(p: Buffer, type: Kind): void {
    const r = this.rng;
    this.parents(p);
    if (r.chance(0.1) && this.state.has(key(p)) && !this.isTouched(key(p))) this.whiteoutOf(p); // removed and re-created
    const e: GenEntry = { ...this.meta(type), path: p, type };
    if (type === 'file') {
      const size = r.weighted({ empty: 3, small: 10, block: 2, big: 1 });
      e.content = r.bytes(size === 'empty' ? 0 : size === 'small' ? r.range(1, 300) : size === 'block' ? r.pick([511, 512, 513, 4096, 4097]) : r.range(5000, 150_000));
    }
    if (type === 'symlink') e.linkname = this.symlinkTarget();
    if (type === 'char' || type === 'block') e.dev = r.pick(DEVICES);
    this.emit(e);
    if (type === 'dir') for (let n = r.range(0, 3); n > 0; n--) this.create(join(p, this.name()), r.pick(['file', 'file', 'symlink', 'dir'] as const));
  }

  private symlinkTarget(): Buffer {
    const r = this.rng;
    const t = r.weighted({ name: 4, up: 2, abs: 2, dangling: 1, long: 1, odd: 1 });
    if (t === 'name') return r.pick(NAMES);
    if (t === 'up') return S('../'.repeat(r.range(1, 4)) + 'etc');
    if (t === 'abs') return S(r.pick(['/etc/passwd', '/', '/bin/sh', '/nonexistent/x']));
    if (t === 'dangling') return S(`nowhere-${r.int(100)}`);
    if (t === 'long') return S(`${'seg/'.repeat(r.range(30, 200))}end`);
    return this.opts.nonUtf8 && r.chance(0.5) ? r.pick(NON_UTF8_NAMES) : r.pick(ODD_NAMES);
  }

  /** A hardlink to an earlier non-directory entry of this layer (mostly regular files). */
  private hardlink(): void {
    const targets = this.layer.filter((e) => e.type !== 'dir' && e.type !== 'whiteout' && e.type !== 'opaque' && e.type !== 'link'
      // the name must still be what this entry made it: a later entry may have replaced it with a directory
      && this.state.get(key(e.path)) === e.type && (e.type === 'file' || this.rng.chance(0.2)));
    if (!targets.length) return;
    const to = this.rng.pick(targets).path;
    const p = this.freshPath();
    this.parents(p);
    this.emit({ path: p, type: 'link', mode: 0o644, uid: 0, gid: 0, mtime: [0, 0], linkname: to });
  }

  private whiteoutOf(p: Buffer): void {
    this.parents(p);
    this.emit({ path: p, type: 'whiteout', mode: 0o644, uid: 0, gid: 0, mtime: [0, 0] });
  }

  private whiteout(): void {
    const p = this.rng.chance(0.1) ? this.freshPath() : this.lowerPath((k) => k !== '');
    if (p) this.whiteoutOf(p);
  }

  /** A lower directory (or the root) emptied by a marker, then given a few new children. */
  private opaque(): void {
    const p = this.lowerPath((k) => this.state.get(k) === 'dir' && (k !== '' || this.rng.chance(0.1)));
    if (!p) return;
    const keepRoot = p.length === 0 && this.opts.rootMode !== undefined;
    if (this.rng.chance(0.8) && !keepRoot) this.emit({ ...this.meta('dir'), path: p, type: 'dir' });
    this.emit({ path: p, type: 'opaque', mode: 0o644, uid: 0, gid: 0, mtime: [0, 0] });
    for (let n = this.rng.range(0, 3); n > 0; n--) this.create(join(p, this.name()), 'file');
  }
}

/** A random layer stack for `seed`, oldest layer first. */
export function randomLayerStack(seed: number, opts: StackOptions = {}): GenLayer[] {
  const rng = new Rng(seed);
  const full = {
    layers: opts.layers ?? rng.range(2, 4), size: opts.size ?? 60, nonUtf8: opts.nonUtf8 ?? false,
    extremeTimes: opts.extremeTimes ?? true, rootMode: opts.rootMode,
  };
  return new StackBuilder(rng, full).build();
}

/** The member name a tar gives this entry (a directory's ends in '/'; markers are `.wh.` names). */
export function memberName(e: GenEntry): Buffer {
  if (e.type === 'opaque') return join(e.path, S('.wh..wh..opq'));
  if (e.type === 'whiteout') {
    const k = key(e.path);
    const cut = k.lastIndexOf('/') + 1;
    return Buffer.concat([e.path.subarray(0, cut), S('.wh.'), e.path.subarray(cut)]);
  }
  if (e.type === 'dir') return e.path.length ? Buffer.concat([e.path, S('/')]) : S('./');
  return e.path;
}

/** The layer as the union model takes it: what the ingest would record, paths as latin1 strings. */
export function toLayerEntries(layer: GenLayer): LayerEntry[] {
  return extractedEntries(layer.entries.map((e) => {
    const marker = e.type === 'whiteout' || e.type === 'opaque';
    const entry: LayerEntry = {
      path: marker ? key(memberName(e)) : key(e.path), type: e.type === 'whiteout' || e.type === 'opaque' ? 'file' : e.type, mode: e.mode, uid: e.uid, gid: e.gid,
      size: e.content?.length ?? 0, mtimeSec: e.mtime[0], mtimeNsec: e.mtime[1], whiteout: e.type === 'whiteout',
      opaque: e.type === 'opaque', offset: 0,
    };
    if (e.linkname) entry.linkname = key(e.linkname);
    if (e.dev) [entry.devmajor, entry.devminor] = e.dev;
    if (e.xattrs) entry.xattrs = Object.fromEntries(e.xattrs);
    return entry;
  }));
}
