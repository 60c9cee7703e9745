import type Database from 'better-sqlite3';
import { toEntry } from './index-db.js';
import { byteLengthSql, prefixBounds, type Glob } from './path-sql.js';
import type { Digest, EntryType, LayerEntry } from './types.js';

/** One stored change (migration 5): what the layer at `position` did to `path`. */
export interface ChangeRow {
  position: number;
  path: string;
  kind: 'A' | 'C' | 'D';
  listed: boolean;
  type: EntryType;
  implicit: boolean;
}

/** A regular file's data in a layer tar. */
export interface FileData {
  path: string;
  offset: number;
  size: number;
}

/** find's -size: compare ceil(size / unit) with n. */
export interface SizeTest {
  op: '+' | '-' | '=';
  n: number;
  unit: number;
}

/** Whether `size` bytes pass find's -size test. */
export function sizeMatches(size: number, t: SizeTest): boolean {
  const units = Math.ceil(size / t.unit);
  return t.op === '+' ? units > t.n : t.op === '-' ? units < t.n : units === t.n;
}

/** Everything find can filter on, already parsed; all given tests must hold. */
export interface FindFilter {
  name?: Glob;
  path?: Glob;
  type?: EntryType;
  size?: SizeTest;
  digest?: Digest;
}

/** One path of an image's merged view that find matched. */
export interface FoundRow {
  path: string;
  /** The layer the entry comes from; undefined for implicit directories. */
  diffId?: Digest;
  type: EntryType;
  /** The size lstat shows: data bytes of a file, target bytes of a symlink, 0 otherwise. */
  size: number;
  mode: number;
  uid: number;
  gid: number;
  digest?: Digest;
}

/** Where one path of a merged view comes from: a layer and the entry's path in it (both undefined: implicit directory). */
export interface ViewSource {
  diffId?: Digest;
  sourcePath?: string;
}

/** A path of a merged view with its layer entry (none for an implicit directory) and content digest when known. */
export interface ViewEntry {
  diffId?: Digest;
  entry?: LayerEntry;
  digest?: Digest;
}

type Row = Record<string, unknown>;

const SHOWN_SIZE = `CASE e.type WHEN 'file' THEN e.size WHEN 'symlink' THEN ${byteLengthSql('e.linkname')} ELSE 0 END`;

const toChange = (r: Row): ChangeRow => ({
  position: r.position as number, path: r.path as string, kind: r.kind as ChangeRow['kind'],
  listed: r.listed === 1, type: r.type as EntryType, implicit: r.implicit === 1,
});

const source = (diffId: unknown, path: unknown): ViewSource =>
  diffId === null ? {} : { diffId: diffId as Digest, sourcePath: path as string };

/** SQL for the questions lamina layers, which, diff and find ask of the index. */
export class QueryIndex {
  private readonly q;

  constructor(private readonly db: Database.Database) {
    const s = (sql: string) => db.prepare(sql);
    this.q = {
      changeSet: s('SELECT id FROM change_sets WHERE image_id = ?').pluck(),
      insertSet: s('INSERT INTO change_sets (image_id) VALUES (?)'),
      insertChange: s(`INSERT INTO layer_changes (set_id, position, path, kind, listed, type, implicit)
                       VALUES (?, ?, ?, ?, ?, ?, ?)`),
      changesAt: s('SELECT * FROM layer_changes WHERE set_id = ? AND position = ? ORDER BY path'),
      changesOf: s('SELECT * FROM layer_changes WHERE set_id = ? AND path = ? ORDER BY position'),
      counts: s(`SELECT position, sum(kind = 'A') AS a, sum(kind = 'C') AS c, sum(kind = 'D') AS d
                 FROM layer_changes WHERE set_id = ? AND listed = 1 GROUP BY position`),
      entry: s('SELECT * FROM entries WHERE diff_id = ? AND path = ?'),
      digest: s('SELECT content_digest FROM entries WHERE diff_id = ? AND path = ?').pluck(),
      hashed: s('SELECT content_digests FROM layers WHERE diff_id = ?').pluck(),
      unhashed: s(`SELECT path, data_offset AS offset, size FROM entries
                   WHERE diff_id = ? AND type = 'file' AND content_digest IS NULL ORDER BY data_offset`),
      setDigest: s('UPDATE entries SET content_digest = ? WHERE diff_id = ? AND path = ?'),
      setHashed: s('UPDATE layers SET content_digests = 1 WHERE diff_id = ?'),
      viewSource: s('SELECT diff_id, source_path FROM view_entries WHERE image_id = ? AND path = ?'),
      // Paths of view `x` that view `y` lacks (y_path NULL) or has from another entry, with x's entry.
      viewVersus: s(`SELECT x.path AS view_path, x.diff_id AS view_diff_id, y.path AS y_path, e.*
                     FROM view_entries x LEFT JOIN view_entries y ON y.image_id = ? AND y.path = x.path
                     LEFT JOIN entries e ON e.diff_id = x.diff_id AND e.path = x.source_path
                     WHERE x.image_id = ? AND (y.path IS NULL OR x.diff_id IS NOT y.diff_id OR x.source_path IS NOT y.source_path)`),
    };
  }

  changeSetId(imageId: Digest): number | undefined {
    return this.q.changeSet.get(imageId) as number | undefined;
  }

  /** Store an image's changes in one transaction; returns the set's id (an existing set is kept). */
  putChangeSet(imageId: Digest, changes: Iterable<ChangeRow>): number {
    return this.db.transaction(() => {
      const have = this.changeSetId(imageId);
      if (have !== undefined) return have;
      const id = Number(this.q.insertSet.run(imageId).lastInsertRowid);
      for (const c of changes) {
        this.q.insertChange.run(id, c.position, c.path, c.kind, c.listed ? 1 : 0, c.type, c.implicit ? 1 : 0);
      }
      return id;
    }).immediate();
  }

  /** The changes the layer at `position` makes, by path. */
  changesAt(setId: number, position: number): ChangeRow[] {
    return (this.q.changesAt.all(setId, position) as Row[]).map(toChange);
  }

  /** Every change to `path`, bottom layer first. */
  changesOf(setId: number, path: string): ChangeRow[] {
    return (this.q.changesOf.all(setId, path) as Row[]).map(toChange);
  }

  /** Listed A/C/D counts per layer position (positions without changes are missing). */
  changeCounts(setId: number): Map<number, { added: number; changed: number; deleted: number }> {
    const rows = this.q.counts.all(setId) as Row[];
    return new Map(rows.map((r) => [r.position as number, { added: r.a as number, changed: r.c as number, deleted: r.d as number }]));
  }

  entry(diffId: Digest, path: string): LayerEntry | undefined {
    const r = this.q.entry.get(diffId, path) as Row | undefined;
    return r && toEntry(r);
  }

  digestOf(diffId: Digest, path: string): Digest | undefined {
    return (this.q.digest.get(diffId, path) as Digest | null | undefined) ?? undefined;
  }

  /** True once every regular file of the layer has its content digest. */
  layerHashed(diffId: Digest): boolean {
    return this.q.hashed.get(diffId) === 1;
  }

  /** Regular files of a layer still without a content digest, in tar order. */
  unhashedFiles(diffId: Digest): FileData[] {
    return this.q.unhashed.all(diffId) as FileData[];
  }

  /** Record content digests in one transaction; `complete` marks the whole layer hashed. */
  putDigests(diffId: Digest, digests: Array<{ path: string; digest: Digest }>, complete: boolean): void {
    this.db.transaction(() => {
      for (const d of digests) this.q.setDigest.run(d.digest, diffId, d.path);
      if (complete) this.q.setHashed.run(diffId);
    }).immediate();
  }

  viewSource(imageId: Digest, path: string): ViewSource | undefined {
    const r = this.q.viewSource.get(imageId, path) as Row | undefined;
    return r && source(r.diff_id, r.source_path);
  }

  /**
   * Paths whose entries differ between the stored views of two images: only in `a`,
   * only in `b`, or in both from different layer entries (with both entries).
   */
  viewDifferences(a: Digest, b: Digest): { onlyA: string[]; onlyB: string[]; both: Array<{ path: string; a: ViewEntry; b: ViewEntry }> } {
    const side = (x: Digest, y: Digest) => {
      const only: string[] = [];
      const changed = new Map<string, ViewEntry>();
      for (const r of this.q.viewVersus.iterate(y, x) as Iterable<Row>) {
        const path = r.view_path as string;
        if (r.y_path === null) only.push(path);
        else changed.set(path, r.view_diff_id === null ? {} : { diffId: r.view_diff_id as Digest, entry: toEntry(r),
          digest: (r.content_digest as Digest | null) ?? undefined });
      }
      return { only, changed };
    };
    const fromA = side(a, b);
    const fromB = side(b, a);
    const both = [...fromA.changed].map(([path, e]) => ({ path, a: e, b: fromB.changed.get(path)! }));
    return { onlyA: fromA.only, onlyB: fromB.only, both };
  }

  /**
   * Paths of the images' stored views (roots excluded) that pass `f`, by image then path.
   * A size or digest test usually picks few entries: those start from the entries of the
   * images' layers (each shared layer read once) and look their paths up in the views.
   * Otherwise the views are walked, names and paths matched by GLOB, entries joined.
   */
  find(imageIds: Digest[], f: FindFilter): Array<FoundRow & { imageId: Digest }> {
    const args: Record<string, unknown> = {};
    const list = (prefix: string, values: string[]) =>
      values.map((v, i) => ((args[`${prefix}${i}`] = v), `@${prefix}${i}`)).join(', ');
    const where = [`v.image_id IN (${list('img', imageIds)})`, "v.path != ''"];
    const glob = (column: string, g: Glob, key: string) => {
      if (column === 'v.path') {
        const bounds = g.prefix.startsWith('/') ? prefixBounds(g.prefix.slice(1)) : undefined;
        if (bounds) {
          where.push(`v.path >= @${key}Lo AND v.path < @${key}Hi`);
          [args[`${key}Lo`], args[`${key}Hi`]] = bounds;
        }
        where.push(`'/' || v.path GLOB @${key}`);
      } else where.push(`${column} GLOB @${key}`);
      args[key] = g.sqlite;
    };
    if (f.name) glob('v.name', f.name, 'name');
    if (f.path) glob('v.path', f.path, 'path');
    if (f.type === 'dir') where.push("(e.type = 'dir' OR v.diff_id IS NULL)");
    else if (f.type) {
      where.push('e.type = @type');
      args.type = f.type;
    }
    if (f.size) {
      const { op, n, unit } = f.size;
      where.push(`((${SHOWN_SIZE}) + ${unit - 1}) / ${unit} ${op === '+' ? '>' : op === '-' ? '<' : '='} @size`);
      args.size = n;
    }
    if (f.digest) {
      where.push('e.content_digest = @digest');
      args.digest = f.digest;
    }
    // An implicit directory has no entry; it is a directory of size 0 with no digest.
    const implicitMay = !f.digest && (!f.type || f.type === 'dir') && (!f.size || sizeMatches(0, f.size));
    const viaEntries = (f.digest !== undefined || f.size !== undefined) && !implicitMay;
    if (viaEntries && !f.digest) {
      where.push(`e.diff_id IN (SELECT diff_id FROM image_layers WHERE image_id IN (${list('lay', imageIds)}))`);
    }
    const from = viaEntries ? 'entries e CROSS JOIN view_entries v ON v.diff_id = e.diff_id AND v.source_path = e.path'
      : `view_entries v ${implicitMay ? 'LEFT JOIN' : 'JOIN'} entries e ON e.diff_id = v.diff_id AND e.path = v.source_path`;
    const sql = `SELECT v.image_id, v.path, v.diff_id, e.type, ${SHOWN_SIZE} AS shown, e.mode, e.uid, e.gid, e.content_digest
                 FROM ${from} WHERE ${where.join(' AND ')}`;
    const out: Array<FoundRow & { imageId: Digest }> = [];
    for (const r of this.db.prepare(sql).iterate(args) as Iterable<Row>) {
      const path = r.path as string;
      if (f.name && !f.name.exact && !f.name.regex.test(path.slice(path.lastIndexOf('/') + 1))) continue;
      if (f.path && !f.path.exact && !f.path.regex.test(`/${path}`)) continue;
      const implicit = r.diff_id === null;
      out.push({
        imageId: r.image_id as Digest, path, diffId: implicit ? undefined : (r.diff_id as Digest),
        type: implicit ? 'dir' : (r.type as EntryType), size: r.shown as number, mode: implicit ? 0o755 : (r.mode as number),
        uid: implicit ? 0 : (r.uid as number), gid: implicit ? 0 : (r.gid as number),
        digest: (r.content_digest as Digest | null) ?? undefined,
      });
    }
    return out;
  }
}
