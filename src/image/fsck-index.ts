/** fsck's index checks: the database itself, rows that point at nothing, views, containers' directories. */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pidAlive } from '../store/blobs.js';
import { shortId } from '../store/digest.js';
import { messageOf } from '../store/errors.js';
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

/** Rows of `child` whose `column` names a `parent` row that does not exist. */
interface Relation {
  child: string;
  column: string;
  parent: string;
  key: string;
  /** SQL naming the child row in messages. */
  subject: string;
  problem: (missing: string, rows: number) => string;
  /** Such rows are removed by --repair; without it they are only reported, with `hint`. */
  drop: boolean;
  hint?: string;
}

const rowsText = (n: number) => (n === 1 ? '' : ` (${n} rows)`);

const RELATIONS: Relation[] = [
  { child: 'layer_blobs', column: 'diff_id', parent: 'layers', key: 'diff_id', subject: "'blob ' || digest", drop: true,
    problem: (m) => `is recorded for layer ${m}, which is not in the index` },
  { child: 'entries', column: 'diff_id', parent: 'layers', key: 'diff_id', subject: "'entries of layer ' || diff_id", drop: true,
    problem: (_m, n) => `the layer is not in the index${rowsText(n)}` },
  { child: 'image_layers', column: 'image_id', parent: 'images', key: 'id', subject: "'layer list of image ' || image_id", drop: true,
    problem: (_m, n) => `the image is not in the index${rowsText(n)}` },
  { child: 'image_layers', column: 'diff_id', parent: 'layers', key: 'diff_id', subject: "'image ' || image_id", drop: false,
    problem: (m) => `its layer ${m} is not in the index`, hint: 'remove the image with lamina rmi and pull or load it again' },
  { child: 'tags', column: 'image_id', parent: 'images', key: 'id', subject: "'tag ' || name", drop: true,
    problem: (m) => `names image ${m}, which is not in the index` },
  { child: 'repo_digests', column: 'image_id', parent: 'images', key: 'id', subject: "'repository digest ' || name", drop: true,
    problem: (m) => `names image ${m}, which is not in the index` },
  { child: 'containers', column: 'image_id', parent: 'images', key: 'id', subject: "'container ' || id", drop: false,
    problem: (m) => `its image ${m} is not in the index`, hint: 'remove the container with lamina rm' },
  { child: 'mounts', column: 'image_id', parent: 'images', key: 'id', subject: "'kept mount ' || dir", drop: true,
    problem: (m) => `names image ${m}, which is not in the index` },
  { child: 'mounts', column: 'container_id', parent: 'containers', key: 'id', subject: "'kept mount ' || dir", drop: true,
    problem: (m) => `names container ${m}, which is not in the index` },
];

/** Rows that point at nothing (the schema's foreign keys, checked whatever state they were written in), and unused layers. */
export async function checkRows(ctx: FsckContext): Promise<Finding[]> {
  const { index } = ctx.store;
  const out: Finding[] = [];
  for (const r of RELATIONS) {
    const orphans = index.db.prepare(`SELECT ${r.subject} AS subject, ${r.column} AS missing, count(*) AS n FROM ${r.child}
      WHERE ${r.column} IS NOT NULL AND ${r.column} NOT IN (SELECT ${r.key} FROM ${r.parent}) GROUP BY 1, 2 ORDER BY 1`).all() as Row[];
    const drop = index.db.prepare(`DELETE FROM ${r.child} WHERE ${r.column} = ?`);
    for (const o of orphans) {
      const f = { subject: o.subject as string, problem: r.problem(o.missing as string, o.n as number) };
      out.push(r.drop ? await finding(ctx, { ...f, repair: `removed the row${(o.n as number) > 1 ? 's' : ''}` }, () => void drop.run(o.missing))
        : { ...f, hint: r.hint });
    }
  }
  const unused = index.db.prepare('SELECT diff_id FROM layers WHERE diff_id NOT IN (SELECT diff_id FROM image_layers) ORDER BY diff_id').pluck().all() as Digest[];
  for (const d of unused) {
    out.push(await finding(ctx, { subject: `layer ${d}`, problem: 'no image uses it', repair: 'removed its rows (lamina gc removes its blobs)' },
      () => void index.transaction(() => index.db.prepare('DELETE FROM layers WHERE diff_id = ?').run(d))));
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
