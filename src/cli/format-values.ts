/**
 * Go's view of the plain JavaScript values that templates run over: how
 * fmt prints them (%v), what text/template counts as true, how eq/lt compare,
 * and which objects are structs (field order, unknown field = error) rather
 * than maps (sorted keys, unknown key = "<no value>").
 */

/** A template error: the text after "template parsing error: " in docker's message. */
export class TemplateError extends Error {}

interface StructInfo {
  type: string;
  /** docker's formatter rows marshal through json.Marshal of a map: sorted keys, HTML escaped. */
  row: boolean;
}

const structs = new WeakMap<object, StructInfo>();

/** Mark `obj` as a Go struct named `type` (error messages name it). */
export function asStruct<T extends object>(obj: T, type: string, opts: { row?: boolean } = {}): T {
  structs.set(obj, { type, row: !!opts.row });
  return obj;
}

export const structInfo = (v: unknown): StructInfo | undefined => (isObject(v) ? structs.get(v) : undefined);

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Go's name for the dynamic type of `v`, as fmt and text/template errors print it. */
export function goType(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'string': return 'string';
    case 'boolean': return 'bool';
    case 'number': return Number.isInteger(v) ? 'int' : 'float64';
    case 'function': return 'func';
  }
  if (Array.isArray(v)) return v.every((x) => typeof x === 'string') ? '[]string' : '[]interface {}';
  return structInfo(v)?.type ?? (Object.values(v as object).every((x) => typeof x === 'string') ? 'map[string]string' : 'map[string]interface {}');
}

/** strconv.FormatFloat(f, 'g', -1, 64), which fmt's %v uses for float64. */
export function goFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  // shortest digits; %e once the decimal exponent is below -4 or at least 6 (strconv's eprec for shortest)
  const [mant, e] = f.toExponential().split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(f);
}

/** fmt's %v of `v` (undefined is text/template's "<no value>" for a missing key). */
export function goString(v: unknown, top = true): string {
  if (v === undefined) return top ? '<no value>' : '<nil>';
  if (v === null) return '<nil>';
  switch (typeof v) {
    case 'string': return v;
    case 'boolean': return v ? 'true' : 'false';
    case 'number': return Number.isInteger(v) ? String(v) : goFloat(v);
    case 'bigint': return String(v);
    case 'function': return `<func>`;
  }
  if (Array.isArray(v)) return `[${v.map((x) => goString(x, false)).join(' ')}]`;
  const o = v as Record<string, unknown>;
  if (structInfo(o)) return `{${Object.values(o).map((x) => goString(x, false)).join(' ')}}`;
  return `map[${Object.keys(o).sort().map((k) => `${k}:${goString(o[k], false)}`).join(' ')}]`;
}

/** text/template's truth: false, 0, nil, "", and empty slices and maps are false; structs are true. */
export function isTrue(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  switch (typeof v) {
    case 'boolean': return v;
    case 'number': return v !== 0;
    case 'string': return v !== '';
    case 'function': return true;
  }
  if (Array.isArray(v)) return v.length > 0;
  return structInfo(v) !== undefined || Object.keys(v as object).length > 0;
}

type Basic = 'bool' | 'number' | 'string' | 'nil';

function basicKind(v: unknown, op: string): Basic {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  throw new TemplateError(`error calling ${op}: non-comparable type ${goType(v)}`);
}

/** eq: arg1 == arg2 || arg1 == arg3 ... with Go's "incompatible types" error. */
export function goEq(a: unknown, ...bs: unknown[]): boolean {
  if (bs.length === 0) throw new TemplateError('wrong number of args for eq: want at least 2 got 1');
  const ka = basicKind(a, 'eq');
  return bs.some((b) => {
    const kb = basicKind(b, 'eq');
    if (ka !== kb && ka !== 'nil' && kb !== 'nil') throw new TemplateError('error calling eq: incompatible types for comparison');
    return (a ?? null) === (b ?? null);
  });
}

/** lt/le/gt/ge: numbers with numbers, strings with strings. */
export function goLess(op: string, a: unknown, b: unknown): boolean {
  const ka = basicKind(a, op);
  const kb = basicKind(b, op);
  if (ka === 'bool' || ka === 'nil' || kb === 'bool' || kb === 'nil') throw new TemplateError(`error calling ${op}: invalid type for comparison`);
  if (ka !== kb) throw new TemplateError(`error calling ${op}: incompatible types for comparison`);
  return (a as number | string) < (b as number | string);
}
