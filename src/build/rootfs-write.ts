// Writes entries into a container's root directory (a lamina mount) the way docker's
// COPY/ADD extraction does: parents made as needed, an existing entry replaced unless both
// are directories, owner, mode and time set on every entry. Paths resolve inside the root.
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, lchown, link, lstat, lutimes, mkdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ImgError } from '../store/errors.js';
import { resolveIn } from './rootfs-path.js';

export interface Owner {
  uid: number;
  gid: number;
}

export interface EntryMeta extends Owner {
  /** Permission bits, including setuid, setgid and sticky. */
  mode: number;
  /** Modification time in seconds; now when absent. */
  mtime?: number;
}

export type FileData = { copyOf: string } | { bytes: Buffer } | { stream: Readable };

export class RootfsWriter {
  /** Directories whose time is set last, after their children stopped changing it. */
  private readonly dirTimes: Array<{ host: string; mtime: number }> = [];

  /** `newDirs`: the owner of parent directories made on the way (docker: root, or --chown's). */
  constructor(readonly root: string, private readonly newDirs: Owner) {}

  /** Makes directory `p` and missing parents (0755); returns its host path. */
  async mkdirs(p: string): Promise<string> {
    let at = '';
    let host = this.root;
    for (const name of p.split('/').filter(Boolean)) {
      at += `/${name}`;
      host = await resolveIn(this.root, at);
      const st = await lstat(host).catch(() => undefined);
      if (st?.isDirectory()) continue;
      if (st) throw new ImgError('FAILED_PRECONDITION', `cannot create ${p}: ${at} is not a directory`);
      await mkdir(host, { mode: 0o755 });
      await chmod(host, 0o755); // not narrowed by the umask
      await lchown(host, this.newDirs.uid, this.newDirs.gid);
    }
    return host;
  }

  /** The host path for entry `p`, its parent made; whatever is there is removed unless both are directories. */
  private async place(p: string, isDir: boolean): Promise<{ host: string; exists: boolean }> {
    const parent = await this.mkdirs(path.posix.dirname(p));
    const host = path.join(parent, path.posix.basename(p));
    if (host === this.root) return { host, exists: true };
    const st = await lstat(host).catch(() => undefined);
    if (st && !(isDir && st.isDirectory())) await rm(host, { recursive: true, force: true });
    return { host, exists: !!st && isDir && st.isDirectory() };
  }

  private async finishEntry(host: string, m: EntryMeta, kind: 'dir' | 'file' | 'symlink'): Promise<void> {
    await lchown(host, m.uid, m.gid);
    if (kind !== 'symlink') await chmod(host, m.mode & 0o7777); // after chown, which clears setuid bits
    const mtime = m.mtime ?? Date.now() / 1000;
    if (kind === 'dir') this.dirTimes.push({ host, mtime });
    else await lutimes(host, mtime, mtime);
  }

  async dir(p: string, m: EntryMeta): Promise<void> {
    const { host, exists } = await this.place(p, true);
    if (!exists) await mkdir(host, { mode: 0o700 });
    await this.finishEntry(host, m, 'dir');
  }

  async file(p: string, data: FileData, m: EntryMeta): Promise<void> {
    const { host } = await this.place(p, false);
    if ('copyOf' in data) await copyFile(data.copyOf, host);
    else await pipeline('bytes' in data ? [data.bytes] : data.stream, createWriteStream(host, { flags: 'wx', mode: 0o600 }));
    await this.finishEntry(host, m, 'file');
  }

  async symlink(p: string, target: string, m: EntryMeta): Promise<void> {
    const { host } = await this.place(p, false);
    await symlink(target, host);
    await this.finishEntry(host, m, 'symlink');
  }

  /** A hard link at `p` to the entry at `target` (both container paths). */
  async hardlink(p: string, target: string): Promise<void> {
    const from = await resolveIn(this.root, target, false);
    const { host } = await this.place(p, false);
    await link(from, host);
  }

  /** Sets the directories' times, deepest first. */
  async finish(): Promise<void> {
    for (const { host, mtime } of this.dirTimes.reverse()) await lutimes(host, mtime, mtime);
    this.dirTimes.length = 0;
  }
}
