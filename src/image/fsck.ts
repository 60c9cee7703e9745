/**
 * lamina fsck: check everything the store holds against everything the index says, and with
 * `repair` fix what can be fixed without losing anything that still works: remove corrupt
 * or stray blob files and rows that point at nothing, rebuild a layer tar from its
 * compressed blob, rebuild a damaged view, recreate a container's missing directories.
 * What it cannot fix (a config blob gone) it reports with the command that would.
 */
import { messageOf } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { checkBlobFiles, checkReferencedBlobs } from './fsck-blobs.js';
import { checkContainers, checkDatabase, checkRows, checkViews } from './fsck-index.js';

/** One problem found. */
export interface Finding {
  /** What it is about: `blob sha256:…`, `tag docker.io/library/x:1`. */
  subject: string;
  problem: string;
  /** What repairing does (or did); undefined when fsck cannot repair it. */
  repair?: string;
  /** Set when the repair was made. */
  repaired?: boolean;
  /** What the user can do when fsck cannot. */
  hint?: string;
  /** The store still works as it is (an optional blob is gone): does not fail fsck. */
  warning?: boolean;
}

export interface FsckContext {
  store: Store;
  repair: boolean;
}

export interface FsckReport {
  findings: Finding[];
  checked: { blobs: number; layers: number; images: number; containers: number };
  /** True when nothing but warnings and repaired problems remain. */
  ok: boolean;
}

/** A finding, repaired by `fix` when the context asks for repairs; a repair that fails says why. */
export async function finding(ctx: FsckContext, f: Omit<Finding, 'repaired'>, fix?: () => Promise<void> | void): Promise<Finding> {
  if (!ctx.repair || !fix || f.repair === undefined) return f;
  try {
    await fix();
    return { ...f, repaired: true };
  } catch (err) {
    return { ...f, repair: undefined, hint: `repair failed: ${messageOf(err)}` };
  }
}

/**
 * Run every check in dependency order: the database itself, blob files (a corrupt one is
 * removed first, so it then counts as missing), rows, blobs the rows need, views, containers.
 */
export async function fsck(store: Store, o: { repair?: boolean } = {}): Promise<FsckReport> {
  const ctx: FsckContext = { store, repair: !!o.repair };
  const findings: Finding[] = [];
  findings.push(...checkDatabase(ctx));
  const blobs = await checkBlobFiles(ctx);
  findings.push(...blobs.findings);
  findings.push(...(await checkRows(ctx)));
  findings.push(...(await checkReferencedBlobs(ctx)));
  findings.push(...(await checkViews(ctx)));
  const containers = await checkContainers(ctx);
  findings.push(...containers.findings);
  const c = store.index.counts();
  return {
    findings,
    checked: { blobs: blobs.checked, layers: c.layers, images: c.images, containers: containers.checked },
    ok: findings.every((f) => f.warning || f.repaired),
  };
}

/** One line per finding: `SUBJECT: PROBLEM (repaired: …)`, `(--repair: …)` or `(cannot repair: …)`. */
export function findingLine(f: Finding): string {
  const tail = f.repaired ? `repaired: ${f.repair}`
    : f.repair !== undefined ? `--repair: ${f.repair}`
    : f.hint ? `${f.warning ? 'note' : 'cannot repair'}: ${f.hint}` : undefined;
  return `${f.warning ? 'warning: ' : ''}${f.subject}: ${f.problem}${tail ? ` (${tail})` : ''}`;
}
