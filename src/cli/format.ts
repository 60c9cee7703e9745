/** Output helpers matching docker's formatting (go-units and tabwriter). */
import { humanDuration } from '../container/container-status.js';
import { tabwrite } from './format-tabwriter.js';

/** docker's HumanSizeWithPrecision(n, precision): decimal units; HumanSize is precision 4. */
export function humanSize(bytes: number, precision = 3): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(precision))}${units[i]}`;
}

/** "2 months ago", or "N/A" for a missing or unparsable time. */
export function since(iso: string | undefined, now = Date.now()): string {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 'N/A' : `${humanDuration(Math.max(0, now - t))} ago`;
}

/** A header and rows through docker's tabwriter (min width 10, 3 spaces of padding). */
export function table(header: string[], rows: string[][]): string {
  return tabwrite([header, ...rows].map((r) => r.join('\t')).join('\n'));
}

/** docker's TruncateID: the hex of an ID, 12 digits. */
export function truncateId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

// built on first use (ICU's set-up takes ~25 ms, which a command that prints no time should not
// pay), and the zone name cached per UTC offset: Intl formatting costs tens of µs and a table
// formats a time per row
let zoneNames: Intl.DateTimeFormat[] | undefined;
const zoneByOffset = new Map<number, string>();

/**
 * Go's zone name: its abbreviation ("UTC", "CET", "EST"), as far as Intl
 * knows one (en-US names American zones, en-GB European ones), else the
 * numeric offset as Go prints a zone without one ("+0530").
 */
function zoneName(t: Date, off: number, numeric: string): string {
  let zone = zoneByOffset.get(off);
  if (zone === undefined) {
    zoneNames ??= ['en-US', 'en-GB'].map((l) => new Intl.DateTimeFormat(l, { timeZoneName: 'short' }));
    const names = zoneNames.map((f) => f.formatToParts(t).find((x) => x.type === 'timeZoneName')?.value ?? '');
    zone = names.find((n) => /^[A-Z]{2,5}$/.test(n)) ?? (numeric.endsWith('00') ? numeric.slice(0, 3) : numeric);
    zoneByOffset.set(off, zone);
  }
  return zone;
}

/** Go's time.Time.String() in the local zone, to the second: "2021-03-04 03:24:42 +0100 CET". */
export function goTime(iso: string | undefined): string {
  const t = new Date(iso ? Date.parse(iso) : 0);
  if (Number.isNaN(t.getTime())) return goTime(undefined);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -t.getTimezoneOffset();
  const numeric = `${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())} ${numeric} ${zoneName(t, off, numeric)}`;
}

/** docker's Ellipsis: at most `max` display columns, the last one "…" when cut. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (max <= 0) return '';
  if (chars.length <= max) return s;
  return max === 1 ? chars[0]! : `${chars.slice(0, max - 1).join('')}…`;
}
