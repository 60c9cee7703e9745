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
      changedOrOnlyA: s(`SELECT a.path, a.diff_id AS a_diff, a.source_path AS a_src, b.path IS NOT NULL AS in_b,
                                b.diff_id AS b_diff, b.source_path AS b_src
                         FROM view_entries a LEFT JOIN view_entries b ON b.image_id = ? AND b.path = a.path
                         WHERE a.image_id = ? AND (b.path IS NULL OR a.diff_id IS NOT b.diff_id OR a.source_path IS NOT b.source_path)`),
      onlyB: s(`SELECT b.path FROM view_entries b WHERE b.image_id = ?
                AND NOT EXISTS (SELECT 1 FROM view_entries a WHERE a.image_id = ? AND a.path = b.path)`).pluck(),
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
   * Paths whose entries differ between the stored views of two images: only in
   * `a`, only in `b`, or in both from different layer entries.
   */
  viewDifferences(a: Digest, b: Digest): { onlyA: string[]; onlyB: string[]; both: Array<{ path: string; a: ViewSource; b: ViewSource }> } {
    const onlyA: string[] = [];
    const both: Array<{ path: string; a: ViewSource; b: ViewSource }> = [];
    for (const r of this.q.changedOrOnlyA.iterate(b, a) as Iterable<Row>) {
      if (r.in_b === 1) both.push({ path: r.path as string, a: source(r.a_diff, r.a_src), b: source(r.b_diff, r.b_src) });
      else onlyA.push(r.path as string);
    }
    return { onlyA, onlyB: this.q.onlyB.all(b, a) as string[], both };
  }

  /** Paths of an image's stored view (the root excluded) that pass `f`, sorted. */
  find(imageId: Digest, f: FindFilter): FoundRow[] {
    const where = ['v.image_id = @image', "v.path != ''"];
    const args: Record<string, unknown> = { image: imageId };
    const glob = (column: string, g: Glob, key: string, lead = '') => {
      const bounds = prefixBounds(g.prefix.startsWith(lead) ? g.prefix.slice(lead.length) : '');
      if (bounds && column === 'v.path') {
        where.push(`v.path >= @${key}Lo AND v.path < @${key}Hi`);
        [args[`${key}Lo`], args[`${key}Hi`]] = bounds;
      }
      if (g.sqlite !== undefined) {
        where.push(`${lead ? `'${lead}' || ` : ''}${column} GLOB @${key}`);
        args[key] = g.sqlite;
      }
    };
    if (f.name) glob('v.name', f.name, 'name');
    if (f.path) glob('v.path', f.path, 'path', '/');
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
    // A digest names few entries: start from them. Otherwise walk the view; implicit
    // directories have no entry, so keep them (LEFT JOIN) only when they can match.
    const from = f.digest ? 'entries e CROSS JOIN view_entries v ON v.diff_id = e.diff_id AND v.source_path = e.path'
      : `view_entries v ${f.type && f.type !== 'dir' ? 'JOIN' : 'LEFT JOIN'} entries e ON e.diff_id = v.diff_id AND e.path = v.source_path`;
    const sql = `SELECT v.path, v.diff_id, e.type, ${SHOWN_SIZE} AS shown, e.mode, e.uid, e.gid, e.content_digest
                 FROM ${from} WHERE ${where.join(' AND ')} ORDER BY v.path`;
    const out: FoundRow[] = [];
    for (const r of this.db.prepare(sql).iterate(args) as Iterable<Row>) {
      const path = r.path as string;
      if (f.name && f.name.sqlite === undefined && !f.name.regex.test(path.slice(path.lastIndexOf('/') + 1))) continue;
      if (f.path && f.path.sqlite === undefined && !f.path.regex.test(`/${path}`)) continue;
      const implicit = r.diff_id === null;
      out.push({
        path, diffId: implicit ? undefined : (r.diff_id as Digest), type: implicit ? 'dir' : (r.type as EntryType),
        size: r.shown as number, mode: implicit ? 0o755 : (r.mode as number), uid: implicit ? 0 : (r.uid as number),
        gid: implicit ? 0 : (r.gid as number), digest: (r.content_digest as Digest | null) ?? undefined,
      });
    }
    return out;
  }
}
