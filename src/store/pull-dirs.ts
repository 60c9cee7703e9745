/**
 * Directories that outlive a killed operation: `<root>/pulls/<key>/`, each held by the
 * process whose PID is in its `owner` file. A pull keeps finished layers there so that the
 * next pull of the same image re-reads them; `info` counts them and `gc` removes those
 * whose owner is gone.
 */
import { lstat, mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pidAlive } from './blobs.js';

export interface PullDirsUsage {
  /** Directories present (live pulls and abandoned ones). */
  dirs: number;
  bytes: number;
}

export const pullsDirOf = (root: string): string => path.join(root, 'pulls');

const ownerPid = async (dir: string): Promise<number> => Number(await readFile(path.join(dir, 'owner'), 'utf8').catch(() => 'NaN'));

/** A directory this young without an owner file is being claimed right now. */
const CLAIM_GRACE_MS = 10_000;

/** True when a live process holds `dir`, or is about to (just created, no owner yet). */
async function held(dir: string, mtimeMs: number): Promise<boolean> {
  const pid = await ownerPid(dir);
  return pidAlive(pid) || (Number.isNaN(pid) && Date.now() - mtimeMs < CLAIM_GRACE_MS);
}

/** Bytes of every file under `dir` (0 when it is gone). */
export async function duBytes(dir: string): Promise<number> {
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  let n = 0;
  for (const name of names) {
    const st = await lstat(path.join(dir, name)).catch(() => undefined);
    if (st?.isFile()) n += st.size;
  }
  return n;
}

/** Create `<root>/pulls/<key>` and take it for this process; false when a live process holds it. */
export async function claimPullDir(root: string, key: string): Promise<{ dir: string; claimed: boolean }> {
  const dir = path.join(pullsDirOf(root), key);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const owner = path.join(dir, 'owner');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(owner, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return { dir, claimed: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (pidAlive(await ownerPid(dir))) return { dir, claimed: false };
      await rm(owner, { force: true });
    }
  }
  return { dir, claimed: false };
}

/** Every pull directory and what it holds. */
export async function pullDirsUsage(root: string): Promise<PullDirsUsage> {
  const names = await readdir(pullsDirOf(root)).catch(() => [] as string[]);
  let bytes = 0;
  for (const n of names) bytes += await duBytes(path.join(pullsDirOf(root), n));
  return { dirs: names.length, bytes };
}

/** Remove pull directories no live process holds and untouched for `olderThanMs`; never `keep`. */
export async function removeAbandonedPullDirs(root: string, olderThanMs = 0, keep?: string): Promise<PullDirsUsage> {
  const removed: PullDirsUsage = { dirs: 0, bytes: 0 };
  for (const name of await readdir(pullsDirOf(root)).catch(() => [] as string[])) {
    const dir = path.join(pullsDirOf(root), name);
    if (dir === keep) continue;
    const st = await stat(dir).catch(() => undefined);
    if (!st || Date.now() - st.mtimeMs < olderThanMs || (await held(dir, st.mtimeMs))) continue;
    removed.bytes += await duBytes(dir);
    await rm(dir, { recursive: true, force: true });
    removed.dirs++;
  }
  return removed;
}
