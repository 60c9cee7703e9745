import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FuseMountOpts } from './mount-options.js';

/** What a mount serves: `kind` says what it is ('image' or 'container'), the rest is kind-specific. */
export interface MountSpec {
  kind: string;
  [key: string]: unknown;
}

/** What lamina records about a mount server while it serves `dir`. */
export interface MountRecord {
  dir: string;
  pid: number;
  spec: MountSpec;
  fuse: FuseMountOpts;
  startedAt: string;
  logFile: string;
}

/** Default directory for mount records and server logs; cleared on reboot like the mounts. */
export const DEFAULT_RUN_DIR = process.env.LAMINA_RUN_DIR ?? '/run/lamina';

/** Record and log paths for the mount at canonical `dir`. */
export function stateFiles(runDir: string, dir: string): { record: string; log: string } {
  const key = createHash('sha256').update(dir).digest('hex').slice(0, 16);
  const base = path.join(runDir, 'mounts', key);
  return { record: `${base}.json`, log: `${base}.log` };
}

export async function readRecord(runDir: string, dir: string): Promise<MountRecord | undefined> {
  try {
    return JSON.parse(await readFile(stateFiles(runDir, dir).record, 'utf8')) as MountRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes through a temp file and rename, so readers never see half a record. */
export async function writeRecord(runDir: string, rec: MountRecord): Promise<void> {
  const file = stateFiles(runDir, rec.dir).record;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(`${file}.${process.pid}.tmp`, JSON.stringify(rec, null, 2));
  await rename(`${file}.${process.pid}.tmp`, file);
}

/** Removes the record of `dir` if it still belongs to `pid` (a newer server may own it). */
export async function removeRecord(runDir: string, dir: string, pid?: number): Promise<void> {
  const rec = await readRecord(runDir, dir).catch(() => undefined);
  if (rec && pid !== undefined && rec.pid !== pid) return;
  await rm(stateFiles(runDir, dir).record, { force: true });
}

/** Whether `pid` is a live (not zombie) lamina-mountd serving `dir`. */
export async function isServerFor(pid: number, dir: string): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return false;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return /(^|\/)lamina-mountd$/.test(argv[0] ?? '') && argv.includes(dir);
  } catch {
    return false;
  }
}
