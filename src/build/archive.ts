// ADD's local archives: a tar, plain or compressed with gzip, bzip2 or xz (docker's set),
// is unpacked into the destination directory, keeping the owners, modes and times it records.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { ImgError } from '../store/errors.js';
import type { RootfsWriter } from './rootfs-write.js';

export type ArchiveKind = 'tar' | 'gzip' | 'bzip2' | 'xz';

const MAGIC: Array<[Exclude<ArchiveKind, 'tar'>, Buffer]> = [
  ['gzip', Buffer.from([0x1f, 0x8b])],
  ['bzip2', Buffer.from('BZh')],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
];

/** A tar header block: its checksum (the field counted as blanks) must match. */
function isTarHeader(block: Buffer): boolean {
  if (block.length < 512) return false;
  const want = parseInt(block.subarray(148, 156).toString('ascii').replace(/[\0 ]+$/, '').trim(), 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return Number.isFinite(want) && sum === want;
}

/** The file's bytes, decompressed as `kind` says. */
function decompressed(file: string, kind: ArchiveKind): Readable {
  const src = createReadStream(file);
  if (kind === 'tar') return src;
  if (kind === 'gzip') return src.pipe(createGunzip());
  const child = spawn(kind, ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const out = new PassThrough();
  src.pipe(child.stdin!).on('error', () => undefined); // the tool may stop reading early
  child.stdout!.pipe(out, { end: false });
  child.once('error', (err) => out.destroy(err));
  child.once('close', (code) => (code === 0 ? out.end() : out.destroy(new Error(`${kind} -dc exited with ${code}`))));
  return out;
}

/** How `file` is compressed when it is a tar archive; undefined when it is not one (ADD copies it as is). */
export async function archiveKind(file: string): Promise<ArchiveKind | undefined> {
  const fh = await open(file, 'r');
  const head = Buffer.alloc(512);
  const { bytesRead } = await fh.read(head, 0, 512, 0).finally(() => fh.close());
  const kind = MAGIC.find(([, m]) => head.subarray(0, m.length).equals(m))?.[0];
  if (!kind) return isTarHeader(head.subarray(0, bytesRead)) ? 'tar' : undefined;
  const s = decompressed(file, kind);
  let first = Buffer.alloc(0);
  try {
    for await (const chunk of s) {
      first = Buffer.concat([first, chunk as Buffer]);
      if (first.length >= 512) break;
    }
  } catch {
    return undefined;
  } finally {
    s.destroy();
  }
  return isTarHeader(first) ? kind : undefined;
}

/** A member name as a path below the destination; undefined for the root itself. */
function memberPath(name: string, archive: string): string | undefined {
  const clean = path.posix.normalize(`/${name}`);
  if (name.split('/').includes('..')) throw new ImgError('INVALID_ARGUMENT', `${archive}: member "${name}" points outside the destination`);
  return clean === '/' ? undefined : clean;
}

/** Unpacks archive `file` into container directory `dest` through `w`. */
export async function extractArchive(file: string, kind: ArchiveKind, w: RootfsWriter, dest: string): Promise<void> {
  await w.mkdirs(dest);
  const ex = tar.extract();
  const done = pipeline(decompressed(file, kind), ex);
  const name = path.basename(file);
  for await (const entry of ex) {
    const h = entry.header;
    const rel = memberPath(h.name, name);
    const p = rel && path.posix.join(dest, rel);
    const meta = { mode: h.mode ?? 0o644, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: (h.mtime?.getTime() ?? Date.now()) / 1000 };
    if (p && h.type === 'file') await w.file(p, { stream: entry as unknown as Readable }, meta);
    else {
      if (h.type === 'directory') await w.dir(p ?? dest, meta); // the archive's `./` is the destination itself
      else if (p && h.type === 'symlink') await w.symlink(p, h.linkname ?? '', meta);
      else if (p && h.type === 'link') await w.hardlink(p, path.posix.join(dest, memberPath(h.linkname ?? '', name) ?? '/'));
      entry.resume(); // devices, fifos and the like are not unpacked
    }
  }
  await done;
}
