// COPY and ADD into a mounted container root, with docker's destination rules: a directory
// source copies its contents, several sources need a directory destination ending in `/`,
// a file goes into an existing directory or becomes the named file.
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { archiveKind, extractArchive } from './archive.js';
import { resolveIn } from './rootfs-path.js';
import type { EntryMeta, Owner, RootfsWriter } from './rootfs-write.js';
import type { SourceEntry, SourceMatch } from './sources.js';

export interface CopySpec {
  matches: SourceMatch[];
  /** Absolute container path; a trailing `/` makes it a directory. */
  dest: string;
  /** --chown; else root, or the source's owners when `keepOwners`. */
  chown?: Owner;
  /** --chmod: the mode of every copied file and directory. */
  chmod?: number;
  /** COPY --from keeps the owners the source image records. */
  keepOwners: boolean;
  /** ADD: local tar archives are unpacked into the destination. */
  extract: boolean;
}

/** A file for COPY's heredoc form (`COPY <<EOF /dest`). */
export interface InlineFile {
  name: string;
  body: string;
}

function metaOf(e: SourceEntry, s: CopySpec): EntryMeta {
  const owner = s.chown ?? (s.keepOwners ? { uid: e.uid, gid: e.gid } : { uid: 0, gid: 0 });
  return { ...owner, mode: s.chmod ?? e.mode, mtime: e.mtime };
}

async function isDirIn(root: string, p: string): Promise<boolean> {
  return (await lstat(await resolveIn(root, p)).catch(() => undefined))?.isDirectory() ?? false;
}

/** Writes one entry at `p`; a file already copied under another name (`links`: inode to path) becomes a hard link to it. */
async function writeEntry(w: RootfsWriter, p: string, e: SourceEntry, s: CopySpec, links: Map<string, string>): Promise<void> {
  const m = metaOf(e, s);
  const first = e.inode && links.get(e.inode);
  if (first) return w.hardlink(p, first);
  if (e.inode) links.set(e.inode, p);
  if (e.type === 'dir') await w.dir(p, m);
  else if (e.type === 'symlink') await w.symlink(p, e.linkname!, m);
  else await w.file(p, { copyOf: e.host }, m);
}

/** Copies `s.matches` through `w` (whose root is the container's); the caller checks `/` for several sources. */
export async function copyInto(w: RootfsWriter, s: CopySpec, inline: InlineFile[] = []): Promise<void> {
  const intoDir = s.dest.endsWith('/') || s.matches.length + inline.length > 1 || (await isDirIn(w.root, s.dest));
  const fileTarget = (name: string) => (intoDir ? path.posix.join(s.dest, path.posix.basename(name)) : s.dest);
  const links = new Map<string, string>();
  for (const m of s.matches) {
    const [top, ...below] = m.entries;
    if (top!.type === 'dir') {
      await w.dir(s.dest, metaOf(top!, s));
      for (const e of below) await writeEntry(w, path.posix.join(s.dest, e.rel), e, s, links);
      continue;
    }
    const kind = s.extract && top!.type === 'file' ? await archiveKind(top!.host) : undefined;
    if (kind) await extractArchive(top!.host, kind, w, s.dest);
    else await writeEntry(w, fileTarget(m.name), top!, s, links);
  }
  for (const f of inline) {
    await w.file(fileTarget(f.name), { bytes: Buffer.from(f.body) }, { ...(s.chown ?? { uid: 0, gid: 0 }), mode: s.chmod ?? 0o644 });
  }
  await w.finish();
}
