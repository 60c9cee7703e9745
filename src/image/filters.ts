/**
 * docker's --filter KEY=VALUE: repeatable; different keys must all match,
 * values of one key are alternatives (label values must all match).
 */
import { ImgError } from '../store/errors.js';

/** Filter values by key, in the order given. */
export type Filters = ReadonlyMap<string, readonly string[]>;

/** Parse repeated --filter values; `allowed` are the keys the listing knows. */
export function parseFilters(args: readonly string[], allowed: readonly string[]): Filters {
  const out = new Map<string, string[]>();
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new ImgError('INVALID_ARGUMENT', `bad format of filter (expected name=value): ${a}`);
    const key = a.slice(0, eq).trim().toLowerCase();
    if (!allowed.includes(key)) throw new ImgError('INVALID_ARGUMENT', `invalid filter '${key}'`, { hint: `filters here: ${allowed.join(', ')}` });
    out.set(key, [...(out.get(key) ?? []), a.slice(eq + 1)]);
  }
  return out;
}

/** One of the values of `key` satisfies `test`; true when the key is absent. */
export function anyOf(filters: Filters, key: string, test: (value: string) => boolean): boolean {
  const vs = filters.get(key);
  return !vs || vs.some(test);
}

/** Every `label=KEY` or `label=KEY=VALUE` holds for `labels`. */
export function labelsMatch(filters: Filters, labels: Readonly<Record<string, string>> | undefined): boolean {
  return (filters.get('label') ?? []).every((f) => {
    const eq = f.indexOf('=');
    const k = eq < 0 ? f : f.slice(0, eq);
    if (!labels || !Object.prototype.hasOwnProperty.call(labels, k)) return false;
    return eq < 0 || labels[k] === f.slice(eq + 1);
  });
}

/** A boolean filter value (dangling=true), or an error naming it. */
export function boolFilter(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ImgError('INVALID_ARGUMENT', `Invalid filter '${key}=${value}'`);
}
