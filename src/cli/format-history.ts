/**
 * `history` rows as docker's formatter builds them (cli/command/image/formatter_history.go).
 */
import type { HistoryRow } from '../image/inspect.js';
import { ellipsis, humanSize, since, truncateId } from './format.js';
import type { Listing } from './format-write.js';
import { asStruct } from './format-values.js';

export const HISTORY: Listing = {
  headers: { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' },
  table: 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
};
const NON_HUMAN_TABLE = 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';

/** docker's newHistoryFormat. */
export function historyFormat(o: { format?: string; quiet?: boolean; human: boolean }): string {
  const f = o.format || 'table';
  if (f !== 'table') return f;
  return o.quiet ? '{{.ID}}' : o.human ? HISTORY.table : NON_HUMAN_TABLE;
}

/** Go's time.RFC3339 in the local zone, to the second ("2017-01-01T12:00:03Z" in UTC). */
function rfc3339(iso: string | undefined): string {
  const t = new Date(iso ? Date.parse(iso) || 0 : 0);
  const off = -t.getTimezoneOffset();
  const local = new Date(t.getTime() + off * 60_000).toISOString().slice(0, 19);
  const p = (n: number) => String(Math.floor(n)).padStart(2, '0');
  return off === 0 ? `${local}Z` : `${local}${off < 0 ? '-' : '+'}${p(Math.abs(off) / 60)}:${p(Math.abs(off) % 60)}`;
}

/** Dates before 2000 are shown as N/A (docker's epoch for history). */
const EPOCH_2000 = Date.UTC(2000, 0, 1);

export function historyRows(rows: HistoryRow[], o: { trunc: boolean; human: boolean }): object[] {
  return rows.map((r) => {
    const createdBy = (r.entry.created_by ?? '').replace(/\t/g, ' ');
    const t = r.entry.created ? Date.parse(r.entry.created) : NaN;
    return asStruct({
      Comment: r.entry.comment ?? '',
      CreatedAt: rfc3339(r.entry.created),
      CreatedBy: o.trunc ? ellipsis(createdBy, 45) : createdBy,
      CreatedSince: !o.human ? rfc3339(r.entry.created) : Number.isNaN(t) || t <= EPOCH_2000 ? 'N/A' : since(r.entry.created),
      ID: o.trunc ? truncateId(r.id) : r.id,
      Size: o.human ? humanSize(r.size) : String(r.size),
    }, 'history', { row: true });
  });
}
