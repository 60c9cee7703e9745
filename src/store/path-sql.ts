/**
 * How paths are stored and matched in SQL, in one place: today a path is a TEXT key
 * (relative, '' for the root, no leading '/'); if the encoding changes, only this
 * module and the statements built from it change.
 */

/** SQL for the byte length of a TEXT column (what lstat reports as a symlink's size). */
export const byteLengthSql = (column: string): string => `length(CAST(${column} AS BLOB))`;

/** `[lo, hi)` bounds that select exactly the keys starting with `prefix`, or undefined when there are none to use. */
export function prefixBounds(prefix: string): [string, string] | undefined {
  if (prefix === '') return undefined;
  const last = prefix.charCodeAt(prefix.length - 1);
  // Incrementing a surrogate half would not give the next string in UTF-8 order.
  if (last >= 0xd800 && last <= 0xdfff) return undefined;
  return [prefix, prefix.slice(0, -1) + String.fromCharCode(last + 1)];
}

type Token =
  | { t: 'lit'; c: string }
  | { t: 'any' }
  | { t: 'one' }
  | { t: 'set'; negate: boolean; items: Array<string | [string, string]>; classes: string[] };

/** POSIX classes fnmatch knows, as JavaScript character-class bodies (ASCII, as in the C locale). */
const CLASSES: Record<string, string> = {
  alnum: 'a-zA-Z0-9', alpha: 'a-zA-Z', blank: ' \\t', cntrl: '\\x00-\\x1f\\x7f', digit: '0-9',
  graph: '\\x21-\\x7e', lower: 'a-z', print: '\\x20-\\x7e', punct: '!-\\/:-@\\[-`{-~', space: ' \\t\\n\\v\\f\\r',
  upper: 'A-Z', xdigit: '0-9A-Fa-f',
};

/** Parse a bracket expression starting at `i` (just past '['); undefined when it never closes. */
function parseSet(p: string[], i: number): { token: Token; next: number } | undefined {
  const token: Token & { t: 'set' } = { t: 'set', negate: false, items: [], classes: [] };
  if (p[i] === '!' || p[i] === '^') {
    token.negate = true;
    i++;
  }
  for (let first = true; i < p.length; first = false) {
    let c = p[i]!;
    if (c === ']' && !first) return { token, next: i + 1 };
    if (c === '[' && p[i + 1] === ':') {
      const end = p.indexOf(':', i + 2);
      const name = end > 0 && p[end + 1] === ']' ? p.slice(i + 2, end).join('') : undefined;
      if (name === undefined || !(name in CLASSES)) return undefined;
      token.classes.push(name);
      i = end + 2;
      continue;
    }
    if (c === '\\' && i + 1 < p.length) c = p[++i]!;
    i++;
    if (p[i] === '-' && p[i + 1] !== undefined && p[i + 1] !== ']') {
      let hi = p[i + 1]!;
      i += 2;
      if (hi === '\\' && i < p.length) hi = p[i++]!;
      token.items.push([c, hi]);
    } else token.items.push(c);
  }
  return undefined;
}

function tokenize(pattern: string): Token[] {
  const p = [...pattern];
  const out: Token[] = [];
  for (let i = 0; i < p.length; ) {
    const c = p[i]!;
    if (c === '*') {
      out.push({ t: 'any' });
      i++;
    } else if (c === '?') {
      out.push({ t: 'one' });
      i++;
    } else if (c === '[') {
      const set = parseSet(p, i + 1);
      if (set) {
        out.push(set.token);
        i = set.next;
      } else {
        out.push({ t: 'lit', c }); // an unclosed '[' matches itself, as in fnmatch
        i++;
      }
    } else if (c === '\\' && i + 1 < p.length) {
      out.push({ t: 'lit', c: p[i + 1]! });
      i += 2;
    } else {
      out.push({ t: 'lit', c });
      i++;
    }
  }
  return out;
}

const reEscape = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
const setEscape = (c: string) => c.replace(/[\\\]^-]/g, '\\$&');
/** A range whose ends are out of order matches nothing (fnmatch and SQLite alike). */
const inOrder = (r: [string, string]) => r[0].codePointAt(0)! <= r[1].codePointAt(0)!;

function toRegExp(tokens: Token[]): RegExp {
  const body = tokens.map((k) => {
    if (k.t === 'lit') return reEscape(k.c);
    if (k.t === 'any') return '[^]*';
    if (k.t === 'one') return '[^]';
    const items = k.items.filter((it) => typeof it === 'string' || inOrder(it))
      .map((it) => (typeof it === 'string' ? setEscape(it) : `${setEscape(it[0])}-${setEscape(it[1])}`));
    return `[${k.negate ? '^' : ''}${items.join('')}${k.classes.map((c) => CLASSES[c]).join('')}]`;
  }).join('');
  return new RegExp(`^${body}$`, 'u');
}

/**
 * The pattern in SQLite's GLOB dialect (no escapes: a special character goes in brackets).
 * A set GLOB cannot say (a class, odd brackets) becomes `?` when `loose`, so the result
 * matches a superset; otherwise there is no translation.
 */
function toSqliteGlob(tokens: Token[], loose: boolean): string | undefined {
  let out = '';
  for (const k of tokens) {
    if (k.t === 'lit') out += '*?['.includes(k.c) ? `[${k.c}]` : k.c;
    else if (k.t === 'any') out += '*';
    else if (k.t === 'one') out += '?';
    else {
      const set = setGlob(k);
      if (set === undefined && !loose) return undefined;
      out += set ?? '?';
    }
  }
  return out;
}

/** A bracket expression in GLOB's dialect: ']' first, '^' not first, '-' last; no classes. */
function setGlob(k: Token & { t: 'set' }): string | undefined {
  const singles = k.items.filter((it): it is string => typeof it === 'string');
  // GLOB would match a range written backwards; fnmatch matches nothing with it.
  const ranges = k.items.filter((it): it is [string, string] => typeof it !== 'string' && inOrder(it));
  if (k.classes.length) return undefined;
  if (singles.length + ranges.length === 0) return k.negate ? '?' : undefined;
  if (ranges.some(([a, b]) => a === ']' || b === ']' || a === '-' || b === '-')) return undefined;
  const order = [...singles.filter((c) => c === ']'), ...singles.filter((c) => c !== ']' && c !== '-' && c !== '^'),
    ...ranges.map(([a, b]) => `${a}-${b}`), ...singles.filter((c) => c === '^'), ...singles.filter((c) => c === '-')];
  if (order[0] === '^' && !k.negate) return undefined;
  return `[${k.negate ? '^' : ''}${order.join('')}]`;
}

/** A find(1) -name/-path pattern (fnmatch without flags: `*` matches '/' and a leading '.'). */
export interface Glob {
  pattern: string;
  regex: RegExp;
  /** The pattern for SQLite's GLOB operator: exactly the same when `exact`, else a superset to check with `regex`. */
  sqlite: string;
  exact: boolean;
  /** The literal text every match starts with. */
  prefix: string;
}

export function compileGlob(pattern: string): Glob {
  const tokens = tokenize(pattern);
  let prefix = '';
  for (const k of tokens) {
    if (k.t !== 'lit') break;
    prefix += k.c;
  }
  const exact = toSqliteGlob(tokens, false);
  return { pattern, regex: toRegExp(tokens), sqlite: exact ?? toSqliteGlob(tokens, true)!, exact: exact !== undefined, prefix };
}
