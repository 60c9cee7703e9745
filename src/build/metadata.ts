// The Dockerfile instructions that only change the image config (ENV, LABEL, CMD, ...): the
// new config and the history comment docker writes for them (`#(nop)  ENV A=1`).
import path from 'node:path';
import { ports } from '../image/config-changes.js';
import type { ContainerConfig, HealthConfig } from '../image/oci.js';
import { expand, type Lookup } from '../image/shell-words.js';
import type { Step } from './dockerfile.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** What a step's words are expanded with. */
export interface Vars {
  lookup: Lookup;
  escape: string;
}

export interface MetadataResult {
  config: ContainerConfig;
  /** The history comment: `ENV A=1`. */
  comment: string;
  author?: string;
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

/** `k=v k2="v 2"` pairs, or the legacy `k v w` form (one pair, the rest of the line its value). */
export function keyValues(step: Step, vars: Vars): Array<[string, string]> {
  const word = (s: string) => expand(s, vars.lookup, vars.escape).text;
  const ws = rawWords(step.args, vars.escape);
  if (!ws[0]!.includes('=')) {
    const rest = step.args.slice(step.args.indexOf(ws[0]!) + ws[0]!.length).trim();
    if (rest === '') throw new Error(`${step.keyword} must have two arguments`);
    return [[word(ws[0]!), word(rest)]];
  }
  return ws.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw new Error(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    const key = word(w.slice(0, eq));
    if (key === '') throw new Error(`${step.keyword} names can not be blank`);
    return [key, word(w.slice(eq + 1))];
  });
}

/** Go's %q for a string list (`["/bin/sh" "-c" "echo hi"]`), as docker's history shows CMD. */
const goList = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;

const NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration (`30s`, `1m30s`, `500ms`) in nanoseconds. */
export function duration(s: string, flag: string): number {
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((m) => m[0]).join('') !== s) throw new Error(`invalid duration "${s}" for --${flag}`);
  return Math.round(parts.reduce((n, m) => n + Number(m[1]) * NS[m[2]!]!, 0));
}

function healthcheck(step: Step): HealthConfig {
  const [kind, ...rest] = step.args.split(/\s+/);
  if (kind!.toUpperCase() === 'NONE') {
    if (rest.length) throw new Error('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (kind!.toUpperCase() !== 'CMD') throw new Error(`Unknown type "${kind}" in HEALTHCHECK (try CMD)`);
  const cmd = step.args.slice(kind!.length).trim();
  if (cmd === '') throw new Error('Missing command after HEALTHCHECK CMD');
  const json = cmd.startsWith('[') ? (JSON.parse(cmd) as string[]) : undefined;
  const hc: HealthConfig = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', cmd] };
  const f = step.flags;
  if (f.has('interval')) hc.Interval = duration(f.get('interval')!, 'interval');
  if (f.has('timeout')) hc.Timeout = duration(f.get('timeout')!, 'timeout');
  if (f.has('start-period')) hc.StartPeriod = duration(f.get('start-period')!, 'start-period');
  if (f.has('start-interval')) hc.StartInterval = duration(f.get('start-interval')!, 'start-interval');
  if (f.has('retries')) {
    const n = Number(f.get('retries'));
    if (!Number.isInteger(n) || n < 1) throw new Error('--retries must be at least 1');
    hc.Retries = n;
  }
  return hc;
}

/** One word after expansion, or an error naming the instruction. */
function single(step: Step, vars: Vars): string {
  const ws = expand(step.args, vars.lookup, vars.escape).words;
  if (ws.length !== 1) throw new Error(`${step.keyword} requires exactly one argument`);
  return ws[0]!;
}

/**
 * The config after metadata instruction `step`. `cmdSet` says whether this stage set CMD
 * already: ENTRYPOINT then keeps it, else it clears the inherited one (docker's rule).
 */
export function applyMetadata(step: Step, base: ContainerConfig, vars: Vars, cmdSet: boolean): MetadataResult {
  const c = structuredClone(base);
  const shell = c.Shell ?? DEFAULT_SHELL;
  const argv = () => step.json ?? [...shell, step.args];
  const done = (comment: string, author?: string): MetadataResult => ({ config: c, comment, author });
  switch (step.keyword) {
    case 'ENV': {
      const env = new Map((c.Env ?? []).map((e) => [e.split('=')[0]!, e]));
      const kvs = keyValues(step, vars);
      for (const [k, v] of kvs) env.set(k, `${k}=${v}`);
      c.Env = [...env.values()];
      return done(`ENV ${kvs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    case 'LABEL': {
      const kvs = keyValues(step, vars);
      c.Labels = { ...c.Labels, ...Object.fromEntries(kvs) };
      return done(`LABEL ${kvs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    case 'CMD':
      c.Cmd = argv();
      return done(`CMD ${goList(c.Cmd)}`);
    case 'ENTRYPOINT':
      c.Entrypoint = argv();
      if (!cmdSet) c.Cmd = null;
      return done(`ENTRYPOINT ${goList(c.Entrypoint)}`);
    case 'EXPOSE': {
      const ws = expand(step.args, vars.lookup, vars.escape).words;
      c.ExposedPorts = { ...c.ExposedPorts, ...Object.fromEntries(ws.flatMap(ports).map((p) => [p, {}])) };
      return done(`EXPOSE ${ws.join(' ')}`);
    }
    case 'VOLUME': {
      const vols = (step.json ?? [step.args]).flatMap((v) => (step.json ? [expand(v, vars.lookup, vars.escape).text] : expand(v, vars.lookup, vars.escape).words));
      if (!vols.length || vols.some((v) => v.trim() === '')) throw new Error('VOLUME specified can not be an empty string');
      c.Volumes = { ...c.Volumes, ...Object.fromEntries(vols.map((v) => [v, {}])) };
      return done(`VOLUME [${vols.join(' ')}]`);
    }
    case 'USER':
      c.User = single(step, vars);
      return done(`USER ${c.User}`);
    case 'STOPSIGNAL':
      c.StopSignal = single(step, vars);
      return done(`STOPSIGNAL ${c.StopSignal}`);
    case 'SHELL':
      c.Shell = step.json!;
      return done(`SHELL [${c.Shell.join(' ')}]`);
    case 'HEALTHCHECK':
      c.Healthcheck = healthcheck(step);
      return done(step.text);
    case 'ONBUILD': {
      const [word] = step.args.split(/\s+/, 1);
      const trigger = `${word!.toUpperCase()}${step.args.slice(word!.length)}`;
      c.OnBuild = [...(c.OnBuild ?? []), trigger];
      return done(`ONBUILD ${trigger}`);
    }
    case 'MAINTAINER':
      return done(`MAINTAINER ${step.args}`, step.args);
    case 'WORKDIR': {
      const dir = expand(step.args, vars.lookup, vars.escape).text;
      c.WorkingDir = path.posix.resolve('/', c.WorkingDir || '/', dir);
      return done(`WORKDIR ${c.WorkingDir}`);
    }
    default:
      throw new Error(`${step.keyword} is not a metadata instruction`);
  }
}
