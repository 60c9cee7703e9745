// What COPY and ADD read: the build context (minus .dockerignore) or another stage's or
// image's root directory. A source is a path or a wildcard, matched relative to the tree's root
// as BuildKit does: the components before the first one with a wildcard are a plain path, each
// later component is matched on its own with Go's filepath.Match (`*`, `?`, `[a-c]`, `[^a]`, `\`).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import dockerignore from '@balena/dockerignore';
import { globMatch } from '../image/glob-match.js';
import { resolveIn } from './rootfs-path.js';

export type SourceType = 'file' | 'dir' | 'symlink';

/** One entry to copy. */
export interface SourceEntry {
  /** Path below the matched source; '' for the source itself. */
  rel: string;
  host: string;
  type: SourceType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds, with fractions. */
  mtime: number;
  linkname?: string;
  /** `dev:ino` of a file with several names, so copies keep them one file. */
  inode?: string;
}

/** A source as matched: its name (the last component names a copied file) and its entries, itself first. */
export interface SourceMatch {
  name: string;
  entries: SourceEntry[];
}

/** Whether `p` has a `*`, `?` or `[` that no `\` escapes (what makes a source a wildcard in docker). */
function hasWildcard(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\') i++;
    else if (p[i] === '*' || p[i] === '?' || p[i] === '[') return true;
  }
  return false;
}

async function entryOf(host: string, rel: string): Promise<SourceEntry | undefined> {
  const st = await lstat(host).catch(() => undefined);
  if (!st) return undefined;
  const type: SourceType | undefined = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : undefined;
  if (!type) return undefined; // sockets, fifos and devices are not copied
  return {
    rel, host, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'file' ? st.size : 0,
    mtime: st.mtimeMs / 1000, linkname: type === 'symlink' ? await readlink(host) : undefined,
    ...(type === 'file' && st.nlink > 1 && { inode: `${st.dev}:${st.ino}` }),
  };
}

export class SourceTree {
  /**
   * `root`: the tree's host directory. `excluded`: paths (relative, `/`-separated) left out,
   * such as the .dockerignore'd ones of a build context.
   */
  constructor(readonly root: string, private readonly excluded: (rel: string) => boolean = () => false) {}

  /** The build context at `dir`, with its .dockerignore applied. */
  static async context(dir: string): Promise<SourceTree> {
    const text = await readFile(path.join(dir, '.dockerignore'), 'utf8').catch(() => '');
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    if (!lines.length) return new SourceTree(dir);
    const ig = (dockerignore as unknown as typeof dockerignore.default)().add(lines); // CommonJS: the function is the module
    return new SourceTree(dir, (rel) => ig.ignores(rel));
  }

  /** Relative path of every entry below `rel`, at most `depth` levels down, that is not excluded; depth first, sorted. */
  private async *walk(rel: string, depth: number): AsyncGenerator<string> {
    if (depth < 1) return;
    const names = await readdir(path.join(this.root, rel)).catch(() => [] as string[]);
    for (const name of names.sort()) {
      const child = rel ? `${rel}/${name}` : name;
      const st = await lstat(path.join(this.root, child)).catch(() => undefined);
      if (!this.excluded(child)) yield child;
      if (st?.isDirectory()) yield* this.walk(child, depth - 1);
    }
  }

  /** The entries of a matched path: itself, then (for a directory) everything below it. */
  private async entries(host: string, rel: string): Promise<SourceEntry[]> {
    const top = await entryOf(host, '');
    if (!top) return [];
    const out = [top];
    if (top.type !== 'dir') return out;
    const below = async (hostDir: string, relDir: string, under: string): Promise<void> => {
      for (const name of (await readdir(hostDir)).sort()) {
        const r = relDir ? `${relDir}/${name}` : name;
        const abs = path.join(hostDir, name);
        const e = await entryOf(abs, r);
        if (!e) continue;
        const full = under ? `${under}/${r}` : r;
        if (!this.excluded(full)) out.push(e);
        if (e.type === 'dir') await below(abs, r, under);
      }
    };
    await below(host, '', rel);
    return out;
  }

  /**
   * The sources `src` names, in order: a path (symlinks on it followed inside the tree) or a
   * wildcard; [] when nothing matches or everything matched is excluded.
   */
  async match(src: string): Promise<SourceMatch[]> {
    const clean = path.posix.normalize(`/${src}`).slice(1).replace(/\/$/, '');
    if (!hasWildcard(clean)) {
      if (clean !== '' && this.excluded(clean)) return [];
      const entries = await this.entries(await resolveIn(this.root, clean), clean);
      return entries.length ? [{ name: clean, entries }] : [];
    }
    const out: SourceMatch[] = [];
    const parts = clean.split('/');
    const start = parts.findIndex(hasWildcard);
    const patterns = parts.slice(start);
    for await (const rel of this.walk(parts.slice(0, start).join('/'), patterns.length)) {
      const names = rel.split('/').slice(start);
      if (names.length !== patterns.length || !patterns.every((p, i) => globMatch(p, names[i]!))) continue;
      const entries = await this.entries(path.join(this.root, rel), rel);
      if (entries.length) out.push({ name: rel, entries });
    }
    return out;
  }
}

/** The digest of what `matches` would copy: names, types, modes, link targets and file contents (not times, not owners). */
export async function contentDigest(matches: SourceMatch[]): Promise<string> {
  const h = createHash('sha256');
  for (const m of matches) {
    h.update(`match ${JSON.stringify(m.name)}\n`);
    for (const e of m.entries) {
      h.update(`${JSON.stringify(e.rel)} ${e.type} ${e.mode.toString(8)} ${e.size} ${JSON.stringify(e.linkname ?? '')}\n`);
      if (e.type === 'file') for await (const chunk of createReadStream(e.host)) h.update(chunk as Buffer);
    }
  }
  return h.digest('hex');
}
