// Go's path.Match, which docker uses for reference filters and (as filepath.Match, one path
// component at a time) for COPY/ADD wildcards: `*` is any run of characters but '/', `?` one
// character but '/', `[a-c]` / `[^a]` a class (it may match '/'), `\` makes the next character
// literal. Chunk by chunk as Go does, so results agree with docker's on odd patterns too; a
// malformed pattern is an error whether or not the name would match.
import { ImgError } from '../store/errors.js';

const bad = (pattern: string) => new ImgError('INVALID_ARGUMENT', `syntax error in pattern ${pattern}`);

/** A pattern as code points, so `?` and classes take one character, never half a surrogate pair. */
interface Pattern {
  text: string;
  cps: string[];
}

/** The stars at `at`, then the chunk up to the next '*' that is neither escaped nor in a class. */
function scanChunk(p: Pattern, at: number): { star: boolean; start: number; end: number } {
  let star = false;
  for (; p.cps[at] === '*'; at++) star = true;
  let inClass = false;
  let i = at;
  for (; i < p.cps.length; i++) {
    const c = p.cps[i];
    if (c === '\\') i++;
    else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '*' && !inClass) break;
  }
  return { star, start: at, end: Math.min(i, p.cps.length) };
}

/** One character of a class, `\` escapes it; something (at least the `]`) must follow it. */
function classChar(p: Pattern, i: number, end: number): [number, number] {
  if (i >= end || p.cps[i] === '-' || p.cps[i] === ']') throw bad(p.text);
  if (p.cps[i] === '\\') i++;
  if (i + 1 >= end) throw bad(p.text);
  return [p.cps[i]!.codePointAt(0)!, i + 1];
}

/** `[...]` at p[i]: whether it takes code point `r` (-1: none left), and the index after it. */
function matchClass(p: Pattern, i: number, end: number, r: number): [boolean, number] {
  const negated = p.cps[++i] === '^' && i < end;
  if (negated) i++;
  let hit = false;
  for (let n = 0; !(i < end && p.cps[i] === ']' && n > 0); n++) {
    let lo: number;
    let hi: number;
    [lo, i] = classChar(p, i, end);
    hi = lo;
    if (p.cps[i] === '-') [hi, i] = classChar(p, i + 1, end);
    if (lo <= r && r <= hi) hit = true;
  }
  return [hit !== negated, i + 1];
}

/**
 * Chunk p[start, end) (no stars) against `s` from `at`: the index after it, or -1. It reads
 * to the chunk's end even after a mismatch, so a malformed chunk always throws.
 */
function matchChunk(p: Pattern, start: number, end: number, s: string[], at: number): number {
  let failed = false;
  for (let i = start; i < end;) {
    if (at >= s.length) failed = true;
    const c = p.cps[i]!;
    if (c === '[') {
      let hit: boolean;
      [hit, i] = matchClass(p, i, end, failed ? -1 : s[at++]!.codePointAt(0)!);
      if (!hit) failed = true;
      continue;
    }
    if (c === '?') {
      if (!failed && s[at++] === '/') failed = true;
      i++;
      continue;
    }
    if (c === '\\' && ++i >= end) throw bad(p.text);
    if (!failed && p.cps[i] !== s[at++]) failed = true;
    i++;
  }
  return failed ? -1 : at;
}

/** Whether `name` matches `pattern` (Go's path.Match); throws INVALID_ARGUMENT for a malformed pattern. */
export function globMatch(pattern: string, name: string): boolean {
  const p: Pattern = { text: pattern, cps: Array.from(pattern) };
  for (let at = 0; at < p.cps.length;) { // every chunk checked up front, as Go checks even on a mismatch
    const { start, end } = scanChunk(p, at);
    matchChunk(p, start, end, [], 0);
    at = end;
  }
  const s = Array.from(name);
  let si = 0;
  chunks: for (let at = 0; at < p.cps.length;) {
    const { star, start, end } = scanChunk(p, at);
    at = end;
    if (star && start === end) return !s.slice(si).includes('/'); // a trailing star takes the rest
    const last = at === p.cps.length;
    const t = matchChunk(p, start, end, s, si);
    if (t >= 0 && (!last || t === s.length)) {
      si = t;
      continue;
    }
    // After a star, the chunk may start further on, at the first place that works; the star never takes a '/'.
    for (let i = si; star && i < s.length && s[i] !== '/'; i++) {
      const u = matchChunk(p, start, end, s, i + 1);
      if (u >= 0 && (!last || u === s.length)) {
        si = u;
        continue chunks;
      }
    }
    return false;
  }
  return si === s.length;
}
