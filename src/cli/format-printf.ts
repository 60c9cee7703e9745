/**
 * Go's fmt.Sprintf for the verbs templates use (%v %s %q %d %x %X %o %b %c %t
 * %f %F %e %E %g %G %%), with flags, width and precision, and fmt's
 * "%!d(string=x)" / "%!v(MISSING)" / "%!(EXTRA ...)" markers for mismatches.
 */
import { goFloat, goString, goType } from './format-values.js';

interface Spec { minus: boolean; plus: boolean; zero: boolean; space: boolean; sharp: boolean; width?: number; prec?: number }

const runes = (s: string) => [...s].length;

function pad(s: string, spec: Spec, numeric = false): string {
  const w = spec.width ?? 0;
  const n = runes(s);
  if (n >= w) return s;
  if (spec.minus) return s + ' '.repeat(w - n);
  if (spec.zero && numeric) {
    const sign = /^[-+ ]/.test(s) ? s[0]! : '';
    return sign + '0'.repeat(w - n) + s.slice(sign.length);
  }
  return ' '.repeat(w - n) + s;
}

/** strconv.Quote: Go's double-quoted string with Go escapes. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const esc: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
    if (esc[ch]) out += esc[ch];
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

const bad = (verb: string, v: unknown) => `%!${verb}(${v === null || v === undefined ? '<nil>' : `${goType(v)}=${goString(v, false)}`})`;

function signed(s: string, neg: boolean, spec: Spec): string {
  return (neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '') + s;
}

function integer(verb: string, v: number, spec: Spec): string {
  const neg = v < 0;
  const abs = Math.abs(v);
  let digits: string;
  switch (verb) {
    case 'x': digits = abs.toString(16); break;
    case 'X': digits = abs.toString(16).toUpperCase(); break;
    case 'o': digits = abs.toString(8); break;
    case 'b': digits = abs.toString(2); break;
    default: digits = String(abs);
  }
  if (spec.prec !== undefined) digits = digits.padStart(spec.prec, '0');
  if (spec.sharp && (verb === 'x' || verb === 'X')) digits = `0${verb}${digits}`;
  if (spec.sharp && verb === 'o') digits = `0${digits}`;
  return pad(signed(digits, neg, spec), { ...spec, zero: spec.zero && spec.prec === undefined && !spec.minus }, true);
}

/** %.Ng: N significant digits, trailing zeros dropped, %e outside 1e-4 <= |v| < 10^N. */
function precise(abs: number, p: number): string {
  const [mant, e] = abs.toExponential(p - 1).split('e') as [string, string];
  const exp = Number(e);
  const strip = (t: string) => (t.includes('.') ? t.replace(/\.?0+$/, '') : t);
  if (exp < -4 || exp >= p) return `${strip(mant)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return strip(abs.toFixed(Math.max(0, p - 1 - exp)));
}

function float(verb: string, v: number, spec: Spec): string {
  const neg = v < 0 || Object.is(v, -0);
  const abs = Math.abs(v);
  let s: string;
  const expo = (t: string) => t.replace(/e([+-])(\d)$/, 'e$10$2');
  switch (verb.toLowerCase()) {
    case 'f': s = abs.toFixed(spec.prec ?? 6); break;
    case 'e': s = expo(abs.toExponential(spec.prec ?? 6)); break;
    default: s = spec.prec === undefined ? goFloat(abs) : precise(abs, spec.prec || 1);
  }
  if (verb === 'E' || verb === 'G') s = s.toUpperCase();
  return pad(signed(s, neg, spec), spec, true);
}

function one(verb: string, v: unknown, spec: Spec): string {
  switch (verb) {
    case 'v':
      if (typeof v === 'number' && !Number.isInteger(v)) return float('g', v, spec);
      return pad(goString(v, false), spec, typeof v === 'number');
    case 's':
      if (typeof v === 'number' || typeof v === 'boolean') return bad(verb, v);
      return pad(spec.prec === undefined ? goString(v, false) : [...goString(v, false)].slice(0, spec.prec).join(''), spec);
    case 'q':
      if (typeof v === 'string') return pad(goQuote(v), spec);
      if (typeof v === 'number' && Number.isInteger(v)) return pad(`'${String.fromCodePoint(v)}'`, spec);
      return bad(verb, v);
    case 't':
      return typeof v === 'boolean' ? pad(String(v), spec) : bad(verb, v);
    case 'c':
      return typeof v === 'number' && Number.isInteger(v) ? pad(String.fromCodePoint(v), spec) : bad(verb, v);
    case 'd': case 'o': case 'b':
      return typeof v === 'number' && Number.isInteger(v) ? integer(verb, v, spec) : bad(verb, v);
    case 'x': case 'X':
      if (typeof v === 'number' && Number.isInteger(v)) return integer(verb, v, spec);
      if (typeof v === 'string') {
        const hex = Buffer.from(v).toString('hex');
        return pad(verb === 'X' ? hex.toUpperCase() : hex, spec);
      }
      return bad(verb, v);
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G':
      // lenient with whole numbers: JSON cannot tell Go's 3.0 from 3
      return typeof v === 'number' ? float(verb === 'F' ? 'f' : verb, v, spec) : bad(verb, v);
    default:
      return `%!${verb}(${goType(v)}=${goString(v, false)})`;
  }
}

/** fmt.Sprintf(format, ...args). */
export function sprintf(format: string, ...args: unknown[]): string {
  let out = '';
  let argi = 0;
  const re = /%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?(.)?/gy;
  let i = 0;
  while (i < format.length) {
    const at = format.indexOf('%', i);
    if (at < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, at);
    re.lastIndex = at;
    const m = re.exec(format)!;
    i = re.lastIndex;
    const [, flags = '', width, prec, verb] = m;
    if (verb === undefined) {
      out += '%!(NOVERB)';
      break;
    }
    if (verb === '%') {
      out += '%';
      continue;
    }
    const spec: Spec = { minus: flags.includes('-'), plus: flags.includes('+'), zero: flags.includes('0'), space: flags.includes(' '), sharp: flags.includes('#') };
    const star = (): number | undefined => {
      const a = args[argi++];
      return typeof a === 'number' && Number.isInteger(a) ? a : undefined;
    };
    if (width === '*') spec.width = star();
    else if (width !== undefined) spec.width = Number(width);
    if (spec.width !== undefined && spec.width < 0) {
      spec.minus = true;
      spec.width = -spec.width;
    }
    if (prec === '*') spec.prec = star();
    else if (prec !== undefined) spec.prec = prec === '' ? 0 : Number(prec);
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += one(verb, args[argi++], spec);
  }
  if (argi < args.length) out += `%!(EXTRA ${args.slice(argi).map((a) => (a === null || a === undefined ? '<nil>' : `${goType(a)}=${goString(a, false)}`)).join(', ')})`;
  return out;
}

/** fmt.Sprint: operands separated by a space when neither side is a string. */
export function sprint(...args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += goString(a, false);
  });
  return out;
}

/** fmt.Sprintln: always spaces between operands, and a newline. */
export const sprintln = (...args: unknown[]): string => `${args.map((a) => goString(a, false)).join(' ')}\n`;
