/** fsck's index checks: the database itself, rows that point at nothing, views, containers' directories. */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pidAlive } from '../store/blobs.js';
import { shortId } from '../store/digest.js';
import { messageOf } from '../store/errors.js';
import type { BrokenForeignKey } from '../store/index-db.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';
import { ViewFile } from '../union/view-file-read.js';
import { finding, type Finding, type FsckContext } from './fsck.js';
import { ensureViewFile, viewFilePath } from './image-view.js';

type Row = Record<string, unknown>;

/** SQLite's own consistency check; a damaged database is beyond fsck. */
export function checkDatabase(ctx: FsckContext): Finding[] {
  const rows = ctx.store.index.db.pragma('quick_check') as Array<{ quick_check: string }>;
  return rows.filter((r) => r.quick_check !== 'ok').slice(0, 20).map((r) => ({
    subject: 'index.db', problem: r.quick_check, hint: 'restore index.db from a backup: lamina cannot repair a damaged database',
  }));
}

/** How fsck names the rows that break one foreign key. */
export interface Relation {
  /** SQL naming the child row in messages. */
  subject: string;
  problem: (missing: string, rows: number) => string;
  /** What the user can do when --repair leaves the rows alone (the key does not cascade). */
  hint?: string;
}

const rowsText = (n: number) => (n === 1 ? '' : ` (${n} rows)`);
const notInIndex = (what: string) => (m: string) => `names ${what} ${m}, which is not in the index`;

/**
 * Every foreign key of the schema, by `table.column`. --repair removes the rows of a key with ON
 * DELETE CASCADE (what deleting the parent would have done) and only reports the others.
 */
export const RELATIONS: Readonly<Record<string, Relation>> = {
  'layer_blobs.diff_id': { subject: "'blob ' || digest", problem: (m) => `is recorded for layer ${m}, which is not in the index` },
  'entries.diff_id': { subject: "'entries of layer ' || diff_id", problem: (_m, n) => `the layer is not in the index${rowsText(n)}` },
  'image_layers.image_id': { subject: "'layer list of image ' || image_id", problem: (_m, n) => `the image is not in the index${rowsText(n)}` },
  'image_layers.diff_id': { subject: "'image ' || image_id", problem: (m) => `its layer ${m} is not in the index`,
    hint: 'remove the image with lamina rmi and pull or load it again' },
  'tags.image_id': { subject: "'tag ' || name", problem: notInIndex('image') },
  'repo_digests.image_id': { subject: "'repository digest ' || name", problem: notInIndex('image') },
  'views.image_id': { subject: "'view rows of image ' || image_id", problem: () => 'the image is not in the index' },
  'view_entries.image_id': { subject: "'view rows of image ' || image_id", problem: (_m, n) => `the view is not in the index${rowsText(n)}` },
  'containers.image_id': { subject: "'container ' || id", problem: (m) => `its image ${m} is not in the index`, hint: 'remove the container with lamina rm' },
  'mounts.image_id': { subject: "'kept mount ' || dir", problem: notInIndex('image') },
  'mounts.container_id': { subject: "'kept mount ' || dir", problem: notInIndex('container') },
  'change_sets.image_id': { subject: "'layer changes of image ' || image_id", problem: () => 'the image is not in the index' },
  'layer_changes.set_id': { subject: "'layer changes of change set ' || set_id", problem: (_m, n) => `the change set is not in the index${rowsText(n)}` },
  'build_cache.image_id': { subject: "'build cache step ' || step_key", problem: (m) => `made image ${m}, which is not in the index` },
};

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A key RELATIONS does not know yet (a newer schema) is still reported, in the table's own terms. */
function relationOf(fk: BrokenForeignKey): Relation {
  return RELATIONS[`${fk.child}.${fk.columns.join(',')}`] ?? {
    subject: `'row of ${fk.child.replace(/'/g, "''")}'`, hint: `find the rows with PRAGMA foreign_key_check(${fk.child})`,
    problem: (m, n) => `names ${fk.parent} ${m}, which is not in the index${rowsText(n)}`,
  };
}

/** The rows breaking `fk`, one finding per subject and missing key; removed in a transaction when the key cascades. */
async function checkForeignKey(ctx: FsckContext, fk: BrokenForeignKey): Promise<Finding[]> {
  const { index } = ctx.store;
  const r = relationOf(fk);
  const cols = fk.columns.map(quoted);
  const missing = cols.map((c, i) => `c.${c} AS m${i}`).join(', ');
  const orphans = index.db.prepare(`SELECT ${r.subject} AS subject, ${missing}, count(*) AS n FROM ${quoted(fk.child)} AS c
    WHERE ${cols.map((c) => `c.${c} IS NOT NULL`).join(' AND ')}
      AND NOT EXISTS (SELECT 1 FROM ${quoted(fk.parent)} AS p WHERE ${fk.keys.map((k, i) => `p.${quoted(k)} = c.${cols[i]!}`).join(' AND ')})
    GROUP BY 1, ${cols.map((_c, i) => i + 2).join(', ')} ORDER BY 1`).all() as Row[];
  const drop = index.db.prepare(`DELETE FROM ${quoted(fk.child)} WHERE ${cols.map((c) => `${c} = ?`).join(' AND ')}`);
  const out: Finding[] = [];
  for (const o of orphans) {
    const key = cols.map((_c, i) => o[`m${i}`]);
    const f = { subject: o.subject as string, problem: r.problem(key.join(', '), o.n as number) };
    out.push(fk.cascade ? await finding(ctx, { ...f, repair: `removed the row${(o.n as number) > 1 ? 's' : ''}` }, () => void index.transaction(() => drop.run(...key)))
      : { ...f, hint: r.hint });
  }
  return out;
}

/** Rows that point at nothing (every foreign key of the schema, whatever state they were written in), and unused layers. */
export async function checkRows(ctx: FsckContext): Promise<Finding[]> {
  const { index } = ctx.store;
  const out: Finding[] = [];
  // Each key's rows are read after the repairs before it: one that cascades may have removed them.
  for (const fk of index.brokenForeignKeys()) out.push(...(await checkForeignKey(ctx, fk)));
  for (const d of index.unusedLayers()) {
    out.push(await finding(ctx, { subject: `layer ${d}`, problem: 'no image uses it', repair: 'removed its rows (lamina gc removes its blobs)' },
      () => void index.transaction(() => index.deleteLayer(d))));
  }
  return out;
}

/** Why the view file `file` cannot serve image `id` as its layers are now, or undefined when it can. */
function viewProblem(store: Store, id: Digest, file: string): string | undefined {
  let view: ViewFile;
  try {
    view = new ViewFile(readFileSync(file));
  } catch (err) {
    return messageOf(err);
  }
  const layers = store.index.imageLayers(id);
  const stale = layers.findIndex((l, i) => view.layers[i]?.blob !== path.relative(store.root, store.blobs.pathOf(l.diffId))
    || view.layers[i]?.size !== store.index.layerSize(l.diffId));
  if (view.layers.length !== layers.length || stale >= 0) return `it does not match the image's layers (layer ${stale + 1})`;
  return undefined;
}

/** View files (caches of merged views): a damaged one is built again, one no image uses is removed. */
export async function checkViews(ctx: FsckContext): Promise<Finding[]> {
  const { store } = ctx;
  const out: Finding[] = [];
  const wanted = new Set<string>();
  for (const img of store.index.images()) {
    if (!store.index.imageLayers(img.id).length) continue;
    const file = viewFilePath(store, img.id);
    wanted.add(path.basename(file));
    if (!(await stat(file).catch(() => undefined))) continue; // built on first use
    const problem = viewProblem(store, img.id, file);
    if (!problem) continue;
    out.push(await finding(ctx, { subject: `view file ${file}`, problem, repair: 'built it again from the layers' }, async () => {
      await rm(file, { force: true });
      ensureViewFile(store, img.id);
    }));
  }
  const dir = path.join(store.root, 'views');
  for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
    const tmp = /\.(\d+)\.tmp$/.exec(name);
    if (wanted.has(name) || (tmp && pidAlive(Number(tmp[1])))) continue; // a view being written now
    out.push(await finding(ctx, { subject: `view file ${path.join(dir, name)}`, problem: 'no image uses it', warning: true, repair: 'removed it' },
      () => rm(path.join(dir, name), { force: true })));
  }
  return out;
}

/** A container directory this young without a row may be one being created. */
const CREATING_MS = 60_000;

/** Every container's writable layer exists; container directories without a container are leftovers. */
export async function checkContainers(ctx: FsckContext): Promise<{ findings: Finding[]; checked: number }> {
  const rows = ctx.store.index.db.prepare('SELECT id, upper_dir, work_dir FROM containers ORDER BY id').all() as Row[];
  const out: Finding[] = [];
  for (const r of rows) {
    for (const [label, dir, mode] of [['writable layer', r.upper_dir, 0o755], ['work directory', r.work_dir, 0o700]] as const) {
      if ((await stat(dir as string).catch(() => undefined))?.isDirectory()) continue;
      out.push(await finding(ctx, {
        subject: `container ${shortId(`sha256:${r.id as string}`)}`, problem: `its ${label} ${dir as string} is missing`,
        repair: `created it empty${label === 'writable layer' ? ' (the changes made in the container are lost)' : ''}`,
      }, async () => void (await mkdir(dir as string, { recursive: true, mode }))));
    }
  }
  const owned = new Set(rows.map((r) => path.dirname(r.upper_dir as string)));
  const base = path.join(ctx.store.root, 'containers');
  for (const name of (await readdir(base).catch(() => [] as string[])).sort()) {
    const dir = path.join(base, name);
    const st = await stat(dir).catch(() => undefined);
    if (!st || owned.has(dir) || Date.now() - st.mtimeMs < CREATING_MS) continue;
    out.push(await finding(ctx, { subject: `directory ${dir}`, problem: 'belongs to no container', warning: true, repair: 'removed it' },
      () => rm(dir, { recursive: true, force: true })));
  }
  return { findings: out, checked: rows.length };
}
