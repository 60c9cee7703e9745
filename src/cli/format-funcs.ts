/**
 * The functions a --format template can call: text/template's builtins and
 * docker's additions (docker/cli templates/templates.go: json, split, join,
 * title, lower, upper, pad, truncate), plus docker's header variants that
 * leave a table's column names intact.
 */
import { sprint, sprintf, sprintln } from './format-printf.js';
import { TemplateError, goEq, goLess, goString, goType, isObject, isTrue, structInfo } from './format-values.js';

export type TemplateFunc = (...args: unknown[]) => unknown;

function str(v: unknown): string {
  if (typeof v !== 'string') throw new TemplateError(`wrong type for value; expected string; got ${goType(v)}`);
  return v;
}

function int(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TemplateError(`wrong type for value; expected int; got ${goType(v)}`);
  return v;
}

function arity(fn: string, args: unknown[], want: number): void {
  if (args.length !== want) throw new TemplateError(`wrong number of args for ${fn}: want ${want} got ${args.length}`);
}

/** Go's json.Marshal order and escaping: docker's rows go through a map (sorted keys, HTML escaped). */
export function goJson(v: unknown): string {
  const escapeHtml = structInfo(v)?.row ?? false;
  const sortRows = (_k: string, x: unknown) =>
    structInfo(x)?.row ? Object.fromEntries(Object.keys(x as object).sort().map((k) => [k, (x as Record<string, unknown>)[k]])) : x;
  let s = JSON.stringify(v === undefined ? null : v, sortRows) ?? 'null';
  s = s.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return escapeHtml ? s.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026') : s;
}

/** strings.Title: upper-case the first letter of every word. */
function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const sep = /[\p{L}\p{N}_]/u.test(prev) ? false : prev.codePointAt(0)! < 0x80 || /\s/u.test(prev);
    out += sep ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

/** docker's joinElements: strings joined, other slices via fmt.Sprint, map values sorted. */
function join(elems: unknown, sep: unknown): string {
  const s = str(sep);
  if (elems === null || elems === undefined) return '';
  if (Array.isArray(elems)) return elems.map((e) => goString(e, false)).join(s);
  if (isObject(elems) && !structInfo(elems)) return Object.values(elems).map((e) => goString(e, false)).sort().join(s);
  throw new TemplateError(`expected slice, got ${goType(elems)}`);
}

function index(item: unknown, ...keys: unknown[]): unknown {
  let v = item;
  for (const k of keys) {
    if (v === null || v === undefined) throw new TemplateError('index of untyped nil');
    if (Array.isArray(v) || typeof v === 'string') {
      if (typeof k !== 'number' || !Number.isInteger(k)) throw new TemplateError(`cannot index slice/array with type ${goType(k)}`);
      if (k < 0 || k >= v.length) throw new TemplateError(`error calling index: index out of range: ${k}`);
      v = typeof v === 'string' ? Buffer.from(v)[k] : v[k];
    } else if (isObject(v)) {
      if (typeof k !== 'string') throw new TemplateError(`value has type ${goType(k)}; should be string`);
      const map = v;
      // a missing key gives the map's zero value: "" for docker's string maps (labels), nil otherwise
      v = Object.prototype.hasOwnProperty.call(map, k) ? map[k] : goType(map) === 'map[string]string' ? '' : null;
    } else {
      throw new TemplateError(`can't index item of type ${goType(v)}`);
    }
  }
  return v;
}

function slice(item: unknown, ...ix: unknown[]): unknown {
  if (typeof item !== 'string' && !Array.isArray(item)) throw new TemplateError(`can't slice item of type ${goType(item)}`);
  if (ix.length > 3 || (typeof item === 'string' && ix.length > 2)) throw new TemplateError(`too many slice indexes: ${ix.length}`);
  const n = ix.map((i) => int(i));
  const [from = 0, to = item.length] = n;
  if (from < 0 || to > item.length || from > to) throw new TemplateError(`error calling slice: index out of range: ${to > item.length ? to : from}`);
  return item.slice(from, to);
}

function len(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (isObject(v) && !structInfo(v)) return Object.keys(v).length;
  throw new TemplateError(`error calling len: len of type ${goType(v)}`);
}

/** url.QueryEscape. */
const urlquery = (...a: unknown[]) => encodeURIComponent(sprint(...a)).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');

const htmlEscape = (...a: unknown[]) => sprint(...a).replace(/[&'<>"\0]/g, (c) => ({ '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;', '\0': '\uFFFD' })[c]!);

const jsEscape = (...a: unknown[]) => sprint(...a).replace(/[\\'"<>&=\x00-\x1f]/g, (c) =>
  ({ '\\': '\\\\', "'": "\\'", '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);

const compare = (op: string, test: (a: unknown, b: unknown) => boolean): TemplateFunc => (...a) => {
  arity(op, a, 2);
  return test(a[0], a[1]);
};

/** text/template's predefined functions (and/or are evaluated lazily by the executor). */
const builtins: Record<string, TemplateFunc> = {
  not: (...a) => (arity('not', a, 1), !isTrue(a[0])),
  len: (...a) => (arity('len', a, 1), len(a[0])),
  index: (item, ...keys) => index(item, ...keys),
  slice: (item, ...ix) => slice(item, ...ix),
  print: (...a) => sprint(...a),
  printf: (f, ...a) => sprintf(str(f), ...a),
  println: (...a) => sprintln(...a),
  html: htmlEscape,
  js: jsEscape,
  urlquery,
  call: (fn, ...a) => {
    if (typeof fn !== 'function') throw new TemplateError(`error calling call: non-function of type ${goType(fn)}`);
    return (fn as TemplateFunc)(...a);
  },
  eq: (a, ...b) => goEq(a, ...b),
  ne: compare('ne', (a, b) => !goEq(a, b)),
  lt: compare('lt', (a, b) => goLess('lt', a, b)),
  le: compare('le', (a, b) => goLess('le', a, b) || goEq(a, b)),
  gt: compare('gt', (a, b) => !goLess('gt', a, b) && !goEq(a, b)),
  ge: compare('ge', (a, b) => !goLess('ge', a, b)),
};

/** docker's basicFunctions. */
const docker: Record<string, TemplateFunc> = {
  json: (...a) => (arity('json', a, 1), goJson(a[0])),
  split: (...a) => (arity('split', a, 2), str(a[0]).split(str(a[1]))),
  join: (...a) => (arity('join', a, 2), join(a[0], a[1])),
  title: (...a) => (arity('title', a, 1), title(str(a[0]))),
  lower: (...a) => (arity('lower', a, 1), str(a[0]).toLowerCase()),
  upper: (...a) => (arity('upper', a, 1), str(a[0]).toUpperCase()),
  pad: (...a) => {
    arity('pad', a, 3);
    const s = str(a[0]);
    return s === '' ? s : ' '.repeat(int(a[1])) + s + ' '.repeat(int(a[2]));
  },
  truncate: (...a) => {
    arity('truncate', a, 2);
    const s = str(a[0]);
    const n = int(a[1]);
    return s.length < n ? s : s.slice(0, n);
  },
};

/** docker's HeaderFunctions: in a table header these return the column name unchanged. */
const header: Record<string, TemplateFunc> = {
  json: (v) => str(v),
  split: (v) => str(v),
  join: (v) => str(v),
  title: (v) => str(v),
  lower: (v) => str(v),
  upper: (v) => str(v),
  truncate: (v) => str(v),
};

export const FUNCS: Record<string, TemplateFunc> = { ...builtins, ...docker };
export const HEADER_FUNCS: Record<string, TemplateFunc> = { ...FUNCS, ...header };
/** Names the parser must accept as functions (and/or included). */
export const FUNC_NAMES = [...Object.keys(FUNCS), 'and', 'or'];
