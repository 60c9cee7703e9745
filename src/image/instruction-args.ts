// How the config instructions of a Dockerfile read their arguments: exec form, key=value
// pairs, ports, durations. Shared by `lamina build` and `commit --change` (instruction.ts).
import { expand, type Lookup } from './shell-words.js';

/** What an instruction's words are expanded with. */
export interface Vars {
  lookup: Lookup;
  escape: string;
}

/** The arguments as an exec-form JSON array of strings, or undefined (then they are shell form). */
export function jsonArgs(args: string): string[] | undefined {
  if (!args.trimStart().startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Words split at unquoted blanks with their quotes kept (docker's parseWords), so that
 * `k="a b"` stays one word whose value is expanded on its own.
 */
export function rawWords(s: string, escape: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === escape && quote !== "'" && i + 1 < s.length) {
      cur += c + s[++i];
      continue;
    }
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (/\s/.test(c)) {
      if (cur) out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur) out.push(cur);
  return out;
}

/**
 * `k=v k2="v 2"` pairs, or the legacy `k v w` form: one pair whose value is the rest of the
 * line expanded as one word, blanks kept (docker's parseNameVal), so `ENV k a  b` is "a  b".
 */
export function keyValues(keyword: string, args: string, vars: Vars): Array<[string, string]> {
  const word = (s: string) => expand(s, vars.lookup, vars.escape).text;
  const ws = rawWords(args, vars.escape);
  if (!ws.length) throw new Error(`${keyword} requires at least one argument`);
  if (!ws[0]!.includes('=')) {
    const rest = args.slice(args.indexOf(ws[0]!) + ws[0]!.length).trim();
    if (rest === '') throw new Error(`${keyword} must have two arguments`);
    return [[word(ws[0]!), word(rest)]];
  }
  return ws.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw new Error(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    const key = word(w.slice(0, eq));
    if (key === '') throw new Error(`${keyword} names can not be blank`);
    return [key, word(w.slice(eq + 1))];
  });
}

/** Ports as docker stores them (`80/tcp`); a range `8000-8002/udp` gives one per port. */
export function ports(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  const [lo, hi] = [Number(m?.[1]), Number(m?.[2] ?? m?.[1])];
  if (!m || lo < 1 || hi > 65535 || hi < lo) throw new Error(`invalid port "${spec}": want PORT[-PORT][/PROTO]`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  return Array.from({ length: hi - lo + 1 }, (_, i) => `${lo + i}/${proto}`);
}

const NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration (`30s`, `1m30s`, `500ms`) in nanoseconds. */
export function duration(s: string, flag: string): number {
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((m) => m[0]).join('') !== s) throw new Error(`invalid duration "${s}" for --${flag}`);
  return Math.round(parts.reduce((n, m) => n + Number(m[1]) * NS[m[2]!]!, 0));
}
