// Test images built with real tools (umoci, skopeo, busybox-static), and a
// tree snapshot to compare a lamina mount with `umoci unpack` entry by entry.
//
// Everything here is asynchronous (fs/promises, child processes), so these
// helpers never block the event loop of the calling test process.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import {
  access,
  chmod,
  chown,
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { run, runOk } from './proc.js';

// ---------------------------------------------------------------------------
// Building OCI layouts with umoci

/** Changes a layer makes, applied to an unpacked rootfs; umoci repack diffs them. */
export type LayerFn = (rootfs: string) => Promise<void> | void;

/** One entry of a hand-written layer tar (see writeLayerTar). */
export interface TarEntrySpec {
  /** Path inside the layer, relative (no leading '/'), e.g. 'etc/.wh..wh..opq'. */
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device' | 'block-device';
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  /** Symlink target, or hardlink target path (relative to the layer root). */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records, e.g. { 'SCHILY.xattr.user.k': 'v' }. */
  pax?: Record<string, string>;
}

/**
 * A layer added verbatim (`umoci raw add-layer`), for things `umoci repack`
 * never writes, such as opaque-directory markers (`.wh..wh..opq`): umoci repack
 * refuses any path starting with `.wh.` and expresses a removed-and-recreated
 * directory as one whiteout per removed child instead.
 */
export type RawLayer = { tar: string } | { entries: TarEntrySpec[] };

export type LayerSpec = LayerFn | RawLayer;

export interface ImageConfigSpec {
  env?: string[];
  cmd?: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string[];
  labels?: Record<string, string>;
  /** "80/tcp" */
  exposedPorts?: string[];
  stopSignal?: string;
}

export interface BuildOptions {
  /** Tag inside the layout (org.opencontainers.image.ref.name). Default 'latest'. */
  tag?: string;
  /** Start from this tag of the same layout (its layers come first) instead of an empty image. */
  from?: string;
  config?: ImageConfigSpec;
  /** Timeout per umoci invocation, ms. Default 120 s. */
  timeout?: number;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** `--rootless` is only needed (and only correct) when not root. */
function rootlessArgs(): string[] {
  return isRoot ? [] : ['--rootless'];
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** Write an uncompressed tar from entry specs (tar-stream). */
export async function writeLayerTar(tarPath: string, entries: TarEntrySpec[]): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(tarPath));
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = e.content === undefined ? undefined : Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content);
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date(0),
      linkname: e.linkname,
      devmajor: e.devmajor,
      devminor: e.devminor,
      pax: e.pax,
      size: type === 'file' ? (content?.length ?? 0) : 0,
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, content ?? Buffer.alloc(0), cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
}

/**
 * Build an OCI image layout at `dir` (created with `umoci init`; `dir` may be
 * missing or an empty directory; if it already is a layout, the tag is added
 * or replaced).
 *
 * Each LayerFn gets the unpacked rootfs of the image so far (as root, owners,
 * devices and xattrs are real) and changes it; `umoci repack` turns the
 * changes into one layer, deletions into `.wh.` whiteouts. A RawLayer is
 * appended verbatim. Then `umoci config` sets env/cmd/etc.
 */
export async function buildOciLayout(dir: string, layers: LayerSpec[], opts: BuildOptions = {}): Promise<void> {
  const tag = opts.tag ?? 'latest';
  const timeout = opts.timeout ?? 120_000;
  const image = `${dir}:${tag}`;
  if (!(await exists(path.join(dir, 'oci-layout')))) {
    // umoci init refuses any existing path, even an empty directory (mkdtemp).
    const existing = await readdir(dir).catch(() => undefined);
    if (existing && existing.length > 0) throw new Error(`${dir} exists and is not an OCI layout`);
    if (existing) await rm(dir, { recursive: true });
    await runOk('umoci', ['init', '--layout', dir], { timeout });
  }
  if (opts.from) await runOk('umoci', ['tag', '--image', `${dir}:${opts.from}`, tag], { timeout });
  else await runOk('umoci', ['new', '--image', image], { timeout });

  const work = await mkdtemp(path.join(tmpdir(), 'lamina-umoci-'));
  const bundle = path.join(work, 'bundle');
  let unpacked = false;
  try {
    let n = 0;
    for (const layer of layers) {
      n++;
      if (typeof layer === 'function') {
        if (!unpacked) {
          await rm(bundle, { recursive: true, force: true });
          await runOk('umoci', ['unpack', ...rootlessArgs(), '--image', image, bundle], { timeout });
          unpacked = true;
        }
        await layer(path.join(bundle, 'rootfs'));
        // --refresh-bundle keeps the bundle's mtree in step, so the next
        // repack diffs against this layer rather than the first unpack.
        await runOk(
          'umoci',
          ['repack', '--refresh-bundle', `--history.created_by=layer ${n}`, '--image', image, bundle],
          { timeout },
        );
      } else {
        let tarPath: string;
        if ('tar' in layer) tarPath = layer.tar;
        else {
          tarPath = path.join(work, `raw-${n}.tar`);
          await writeLayerTar(tarPath, layer.entries);
        }
        await runOk('umoci', ['raw', 'add-layer', `--history.created_by=raw layer ${n}`, '--image', image, tarPath], {
          timeout,
        });
        unpacked = false; // the bundle no longer matches the image
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const c = opts.config;
  if (c) {
    const args = ['config', '--no-history', '--image', image];
    if (c.env) args.push('--clear=config.env', ...c.env.map((e) => `--config.env=${e}`));
    if (c.cmd) args.push(c.cmd.length ? '' : '--clear=config.cmd', ...c.cmd.map((v) => `--config.cmd=${v}`));
    if (c.entrypoint) {
      args.push(c.entrypoint.length ? '' : '--clear=config.entrypoint', ...c.entrypoint.map((v) => `--config.entrypoint=${v}`));
    }
    if (c.workdir !== undefined) args.push(`--config.workingdir=${c.workdir}`);
    if (c.user !== undefined) args.push(`--config.user=${c.user}`);
    if (c.labels) args.push(...Object.entries(c.labels).map(([k, v]) => `--config.label=${k}=${v}`));
    if (c.exposedPorts) args.push(...c.exposedPorts.map((p) => `--config.exposedports=${p}`));
    if (c.stopSignal) args.push(`--config.stopsignal=${c.stopSignal}`);
    await runOk('umoci', args.filter((a) => a !== ''), { timeout });
  }
}

/**
 * Tag each proper prefix of `tag`'s layer stack in the layout as `TAG-K` (its first K
 * layers, history up to them), so a test can see the image as each layer left it.
 */
export async function tagLayerPrefixes(layoutDir: string, tag: string): Promise<string[]> {
  const { manifest, config } = await readOciImage(layoutDir, tag);
  const put = async (value: unknown): Promise<{ digest: string; size: number }> => {
    const bytes = Buffer.from(JSON.stringify(value));
    const hex = createHash('sha256').update(bytes).digest('hex');
    await writeFile(path.join(layoutDir, 'blobs', 'sha256', hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const indexFile = path.join(layoutDir, 'index.json');
  const index = JSON.parse(await readFile(indexFile, 'utf8'));
  const tags: string[] = [];
  for (let k = 1; k < manifest.layers.length; k++) {
    let seen = 0;
    const history = (config.history ?? []).filter((h) => (h.empty_layer ? seen < k : ++seen <= k));
    const cfg = await put({ ...config, rootfs: { type: 'layers', diff_ids: config.rootfs.diff_ids.slice(0, k) }, history });
    const man = await put({ ...manifest, config: { ...manifest.config, ...cfg }, layers: manifest.layers.slice(0, k) });
    const name = `${tag}-${k}`;
    index.manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...man,
      annotations: { 'org.opencontainers.image.ref.name': name } });
    tags.push(name);
  }
  await writeFile(indexFile, JSON.stringify(index));
  return tags;
}

/** `umoci unpack` the image into `dest` (which must not exist); returns dest/rootfs. */
export async function umociUnpack(layoutDir: string, tag: string, dest: string): Promise<string> {
  await runOk('umoci', ['unpack', ...rootlessArgs(), '--image', `${layoutDir}:${tag}`, dest], { timeout: 300_000 });
  return path.join(dest, 'rootfs');
}

/**
 * `skopeo copy oci:DIR:TAG docker-archive:FILE[:REF]` (a `docker save` style
 * tar). Note skopeo writes layers uncompressed (file name = diff_id) while
 * keeping the config bytes, so the image ID is unchanged.
 */
export async function ociToDockerArchive(layoutDir: string, tag: string, archivePath: string, ref?: string): Promise<void> {
  await rm(archivePath, { force: true });
  await runOk(
    'skopeo',
    ['copy', '-q', `oci:${layoutDir}:${tag}`, `docker-archive:${archivePath}${ref ? `:${ref}` : ''}`],
    { timeout: 300_000 },
  );
}

/** Tar an OCI layout directory (entries oci-layout, index.json, blobs/... at the tar root). */
export async function ociLayoutToTar(dir: string, tarPath: string): Promise<void> {
  const names = (await readdir(dir)).sort();
  await rm(tarPath, { force: true });
  await runOk('tar', ['--numeric-owner', '-C', dir, '-cf', tarPath, ...names], { timeout: 300_000 });
}

export interface OciImageInfo {
  manifestDigest: string;
  manifest: {
    mediaType?: string;
    config: { mediaType: string; digest: string; size: number };
    layers: Array<{ mediaType: string; digest: string; size: number }>;
  };
  config: {
    architecture?: string;
    os?: string;
    config?: Record<string, unknown>;
    rootfs: { type: string; diff_ids: string[] };
    history?: Array<Record<string, unknown>>;
  };
}

/** Read a tagged image's manifest and config straight from an OCI layout. */
export async function readOciImage(layoutDir: string, tag = 'latest'): Promise<OciImageInfo> {
  const blob = async (digest: string) =>
    JSON.parse(await readFile(path.join(layoutDir, 'blobs', ...digest.split(':')), 'utf8'));
  const index = JSON.parse(await readFile(path.join(layoutDir, 'index.json'), 'utf8'));
  const desc = (index.manifests as Array<{ digest: string; annotations?: Record<string, string> }>).find(
    (m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag,
  );
  if (!desc) throw new Error(`no tag ${tag} in ${layoutDir}`);
  const manifest = await blob(desc.digest);
  return { manifestDigest: desc.digest, manifest, config: await blob(manifest.config.digest) };
}

// ---------------------------------------------------------------------------
// A minimal busybox rootfs

export const BUSYBOX_APPLETS = [
  'sh', 'echo', 'ls', 'cat', 'id', 'env', 'pwd', 'mkdir', 'rm', 'mv', 'touch', 'sleep', 'true', 'false',
  'test', '[', 'wc', 'head', 'tail', 'printf', 'stat', 'find', 'grep', 'sed', 'chmod', 'chown', 'ln',
  'readlink', 'uname', 'hostname', 'expr', 'cp', 'dd', 'du', 'sort', 'tr', 'whoami', 'mkfifo', 'mknod',
] as const;

/**
 * Populate `dir` with a minimal rootfs: /bin/busybox (Debian busybox-static)
 * with applet symlinks in /bin, /usr/bin/env, /etc/passwd and /etc/group with
 * root and user (1000), /tmp (1777), /root (0700), /home/user (1000:1000),
 * and empty /dev, /proc, /sys.
 */
export async function busyboxRootfs(dir: string): Promise<void> {
  const source = '/bin/busybox';
  const d = (p: string) => path.join(dir, p);
  for (const p of ['bin', 'usr/bin', 'etc', 'tmp', 'root', 'home/user', 'dev', 'proc', 'sys', 'var']) {
    await mkdir(d(p), { recursive: true });
  }
  await copyFile(source, d('bin/busybox'));
  await chmod(d('bin/busybox'), 0o755);
  for (const applet of BUSYBOX_APPLETS) {
    await rm(d(`bin/${applet}`), { force: true });
    await symlink('busybox', d(`bin/${applet}`));
  }
  await rm(d('usr/bin/env'), { force: true });
  await symlink('../../bin/busybox', d('usr/bin/env'));
  await writeFile(
    d('etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  await writeFile(d('etc/group'), 'root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n');
  await chmod(d('tmp'), 0o1777);
  await chmod(d('root'), 0o700);
  if (isRoot) await chown(d('home/user'), 1000, 1000);
}

// ---------------------------------------------------------------------------
// Tree snapshots

export type EntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block' | 'socket';

export interface TreeEntry {
  /** '/'-rooted path inside the tree: '/' for the root itself, '/etc/passwd'. */
  path: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (st_mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Regular files and symlinks: st_size. Directories and others: 0 (fs-specific). */
  size: number;
  /** Link count of non-directories (directories: undefined, fs-specific). */
  nlink?: number;
  /** Hex sha256 of a regular file's content. */
  sha256?: string;
  /** Symlink target. */
  linkname?: string;
  rdevMajor?: number;
  rdevMinor?: number;
  /** name → base64 value. */
  xattrs: Record<string, string>;
  /** mtime, whole seconds. */
  mtime: number;
  /** When several paths of the tree share this inode: the smallest of them. */
  hardlinkGroup?: string;
}

export interface SnapshotOptions {
  /** Read xattrs (one `getfattr -R` run). Default true. */
  xattrs?: boolean;
  /** Keep only xattrs whose name passes. Default: all. */
  xattrFilter?: (name: string) => boolean;
  /** Hash regular files. Default true. */
  hash?: boolean;
  /** Skip a path (and, for directories, everything below it). */
  exclude?: (path: string) => boolean;
  /** Parallel fs operations. Default 16. */
  concurrency?: number;
}

function limiter(n: number) {
  let active = 0;
  const queue: Array<() => void> = [];
  return async function <T>(fn: () => Promise<T>): Promise<T> {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

// glibc's major()/minor() on a 64-bit dev_t.
function devMajor(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn & 0xffffffffn));
}
function devMinor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn & 0xffffffffn));
}

function typeOf(mode: bigint): EntryType {
  switch (Number(mode) & 0o170000) {
    case 0o100000: return 'file';
    case 0o040000: return 'dir';
    case 0o120000: return 'symlink';
    case 0o010000: return 'fifo';
    case 0o020000: return 'char';
    case 0o060000: return 'block';
    case 0o140000: return 'socket';
    default: throw new Error(`unknown file type in mode ${mode.toString(8)}`);
  }
}

/** Undo getfattr's octal escapes (\012, \134) in a file name, bytewise. */
function unescapeGetfattr(s: string): string {
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of s.matchAll(/\\([0-7]{3})/g)) {
    parts.push(Buffer.from(s.slice(last, m.index), 'utf8'), Buffer.from([parseInt(m[1]!, 8)]));
    last = m.index! + m[0].length;
  }
  parts.push(Buffer.from(s.slice(last), 'utf8'));
  return Buffer.concat(parts).toString('utf8');
}

/**
 * All xattrs under `dir` (not following symlinks), keyed by '/'-rooted path,
 * values base64. Uses `getfattr -R -P -h -d -m - -e base64`.
 */
export async function readXattrs(dir: string): Promise<Map<string, Record<string, string>>> {
  const r = await run('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', '.'], {
    cwd: dir,
    timeout: 300_000,
  });
  const problems = r.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/Operation not supported|No data available/.test(l));
  if (r.code !== 0 && (problems.length > 0 || r.code === null || r.code === 127)) {
    throw new Error(`getfattr failed in ${dir} (code ${r.code}): ${problems.join('\n') || r.stderr}`);
  }
  const out = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      const rel = unescapeGetfattr(line.slice('# file: '.length));
      const p = rel === '.' ? '/' : rel.startsWith('./') ? rel.slice(1) : `/${rel}`;
      current = {};
      out.set(p, current);
    } else if (line !== '' && current) {
      const eq = line.indexOf('=');
      const name = unescapeGetfattr(eq < 0 ? line : line.slice(0, eq));
      let value = eq < 0 ? '' : line.slice(eq + 1);
      if (value.startsWith('0s')) value = value.slice(2);
      else if (value.startsWith('"') && value.endsWith('"')) value = Buffer.from(value.slice(1, -1)).toString('base64');
      current[name] = value;
    }
  }
  return out;
}

/**
 * Walk `dir` with lstat (never following symlinks) and return one record per
 * entry, sorted by path. Asynchronous throughout, with bounded parallelism.
 */
export async function treeSnapshot(dir: string, opts: SnapshotOptions = {}): Promise<TreeEntry[]> {
  const limit = limiter(opts.concurrency ?? 16);
  const hash = opts.hash ?? true;
  const entries: TreeEntry[] = [];
  const inodes = new Map<string, string[]>();

  const visit = async (rel: string): Promise<void> => {
    if (rel !== '/' && opts.exclude?.(rel)) return;
    const abs = rel === '/' ? dir : path.join(dir, rel);
    const st = await limit(() => lstat(abs, { bigint: true }));
    const type = typeOf(st.mode);
    const e: TreeEntry = {
      path: rel,
      type,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: type === 'file' || type === 'symlink' ? Number(st.size) : 0,
      xattrs: {},
      mtime: Number(st.mtimeNs / 1_000_000_000n),
    };
    if (type !== 'dir') {
      e.nlink = Number(st.nlink);
      const key = `${st.dev}:${st.ino}`;
      const paths = inodes.get(key);
      if (paths) paths.push(rel);
      else inodes.set(key, [rel]);
    }
    if (type === 'symlink') e.linkname = await limit(() => readlink(abs));
    if (type === 'char' || type === 'block') {
      e.rdevMajor = devMajor(st.rdev);
      e.rdevMinor = devMinor(st.rdev);
    }
    if (type === 'file' && hash) e.sha256 = await limit(() => sha256File(abs));
    entries.push(e);
    if (type === 'dir') {
      const names = await limit(() => readdir(abs));
      await Promise.all(names.map((name) => visit(rel === '/' ? `/${name}` : `${rel}/${name}`)));
    }
  };
  await visit('/');

  for (const paths of inodes.values()) {
    if (paths.length < 2) continue;
    paths.sort();
    const first = paths[0]!;
    for (const e of entries) if (paths.includes(e.path)) e.hardlinkGroup = first;
  }

  if (opts.xattrs ?? true) {
    const all = await readXattrs(dir);
    const byPath = new Map(entries.map((e) => [e.path, e]));
    for (const [p, attrs] of all) {
      const e = byPath.get(p);
      if (!e) continue;
      for (const [name, value] of Object.entries(attrs)) {
        if (!opts.xattrFilter || opts.xattrFilter(name)) e.xattrs[name] = value;
      }
    }
  }

  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return entries;
}

export interface DiffOptions {
  /** Fields not to compare, e.g. ['mtime', 'nlink']. */
  ignore?: Array<keyof TreeEntry>;
  /** Paths not to compare. */
  ignorePaths?: (path: string) => boolean;
  /** Names for the two sides in messages. Default ['a', 'b']. */
  labels?: [string, string];
}

function show(field: keyof TreeEntry, v: unknown): string {
  if (v === undefined) return '-';
  if (field === 'mode') return (v as number).toString(8).padStart(4, '0');
  if (field === 'xattrs') {
    const o = v as Record<string, string>;
    const keys = Object.keys(o).sort();
    return `{${keys.map((k) => `${k}=${Buffer.from(o[k]!, 'base64').toString('latin1')}`).join(', ')}}`;
  }
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

const FIELDS: Array<keyof TreeEntry> = [
  'type', 'mode', 'uid', 'gid', 'size', 'nlink', 'sha256', 'linkname', 'rdevMajor', 'rdevMinor', 'xattrs', 'mtime',
  'hardlinkGroup',
];

/** Human-readable differences between two snapshots; empty when equal. */
export function diffSnapshots(a: TreeEntry[], b: TreeEntry[], opts: DiffOptions = {}): string[] {
  const [la, lb] = opts.labels ?? ['a', 'b'];
  const ignore = new Set(opts.ignore ?? []);
  const ma = new Map(a.map((e) => [e.path, e]));
  const mb = new Map(b.map((e) => [e.path, e]));
  const paths = [...new Set([...ma.keys(), ...mb.keys()])].sort();
  const out: string[] = [];
  for (const p of paths) {
    if (opts.ignorePaths?.(p)) continue;
    const ea = ma.get(p);
    const eb = mb.get(p);
    if (!ea) {
      out.push(`${p}: only in ${lb} (${eb!.type})`);
      continue;
    }
    if (!eb) {
      out.push(`${p}: only in ${la} (${ea.type})`);
      continue;
    }
    for (const f of FIELDS) {
      if (ignore.has(f)) continue;
      const va = ea[f];
      const vb = eb[f];
      const same =
        f === 'xattrs'
          ? JSON.stringify(Object.entries(va as object).sort()) === JSON.stringify(Object.entries(vb as object).sort())
          : va === vb;
      if (!same) out.push(`${p}: ${f} ${la}=${show(f, va)} ${lb}=${show(f, vb)}`);
    }
  }
  return out;
}
