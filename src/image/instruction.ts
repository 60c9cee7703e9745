// The Dockerfile instructions that only change the image config (ENV, LABEL, CMD, ...): the new
// config and the history comment docker writes for them (`ENV A=1`). The one implementation
// behind both `lamina build` (build/) and `lamina commit --change` (config-changes.ts), so the
// two cannot disagree on what an instruction means.
import path from 'node:path';
import { duration, keyValues, ports, type Vars } from './instruction-args.js';
import type { ContainerConfig, HealthConfig } from './oci.js';
import { expand } from './shell-words.js';

export type { Vars } from './instruction-args.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** One parsed instruction; build's Step is one, and so is a parsed --change line. */
export interface Instruction {
  /** Upper case: `ENV`. */
  keyword: string;
  /** The arguments after the flags, trimmed; '' when there are none. */
  args: string;
  flags: ReadonlyMap<string, string>;
  /** The arguments as an exec-form JSON array of strings, when they are one. */
  json?: string[];
  /** `KEYWORD --flags args`: HEALTHCHECK's history comment. */
  text: string;
}

export interface InstructionResult {
  config: ContainerConfig;
  /** The history comment: `ENV A=1`. */
  comment: string;
  author?: string;
  /** Whether this stage (or change list) has set CMD, this instruction included. */
  cmdSet: boolean;
}

/** Instructions docker parses with no arguments at all; for the others that is an error. */
export const MAY_BE_EMPTY: readonly string[] = ['CMD', 'ENTRYPOINT'];

/** Go's %q for a string list (`["/bin/sh" "-c" "echo hi"]`), as docker's history shows CMD. */
const goList = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;

/**
 * CMD's or ENTRYPOINT's value: exec form as is, shell form behind the config's SHELL, and
 * null when there are no arguments (`ENTRYPOINT []`, or `ENTRYPOINT` alone).
 *
 * docker disagrees with itself on the empty case: BuildKit (`docker build`) stores nothing
 * for `[]` but `["/bin/sh","-c",""]` for a bare ENTRYPOINT (it joins zero words into a shell
 * command), while the classic builder, which still applies `docker commit --change`, stores
 * `[]` for both. We store null for both: it starts a container exactly as `[]` does, it is
 * what BuildKit stores for the exec form, and a shell that runs an empty script is never
 * what a bare ENTRYPOINT means.
 */
function cmdLine(ins: Instruction, shell: string[]): string[] | null {
  const argv = ins.json ?? (ins.args === '' ? [] : [...shell, ins.args]);
  return argv.length ? argv : null;
}

function healthcheck(ins: Instruction): HealthConfig {
  const [kind, ...rest] = ins.args.split(/\s+/);
  if (kind!.toUpperCase() === 'NONE') {
    if (rest.length) throw new Error('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (kind!.toUpperCase() !== 'CMD') throw new Error(`Unknown type "${kind}" in HEALTHCHECK (try CMD)`);
  const cmd = ins.args.slice(kind!.length).trim();
  if (cmd === '') throw new Error('Missing command after HEALTHCHECK CMD');
  const json = cmd.startsWith('[') ? (JSON.parse(cmd) as string[]) : undefined;
  const hc: HealthConfig = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', cmd] };
  const f = ins.flags;
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
function single(ins: Instruction, vars: Vars): string {
  const ws = expand(ins.args, vars.lookup, vars.escape).words;
  if (ws.length !== 1) throw new Error(`${ins.keyword} requires exactly one argument`);
  return ws[0]!;
}

/**
 * The config after config instruction `ins` (a copy; `base` is not modified). `cmdSet` says
 * whether CMD was set earlier in this stage: ENTRYPOINT then keeps it, else it clears the
 * inherited one (docker's rule).
 */
export function applyInstruction(ins: Instruction, base: ContainerConfig, vars: Vars, cmdSet: boolean): InstructionResult {
  if (ins.args === '' && !MAY_BE_EMPTY.includes(ins.keyword)) throw new Error(`${ins.keyword} requires at least one argument`);
  const c = structuredClone(base);
  const shell = c.Shell ?? DEFAULT_SHELL;
  const done = (comment: string, author?: string): InstructionResult => ({ config: c, comment, author, cmdSet });
  switch (ins.keyword) {
    case 'ENV': {
      const env = new Map((c.Env ?? []).map((e) => [e.split('=')[0]!, e]));
      const kvs = keyValues('ENV', ins.args, vars);
      for (const [k, v] of kvs) env.set(k, `${k}=${v}`);
      c.Env = [...env.values()];
      return done(`ENV ${kvs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    case 'LABEL': {
      const kvs = keyValues('LABEL', ins.args, vars);
      c.Labels = { ...c.Labels, ...Object.fromEntries(kvs) };
      return done(`LABEL ${kvs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    case 'CMD':
      c.Cmd = cmdLine(ins, shell);
      cmdSet = true;
      return done(`CMD ${goList(c.Cmd ?? [])}`);
    case 'ENTRYPOINT':
      c.Entrypoint = cmdLine(ins, shell);
      if (!cmdSet) c.Cmd = null;
      return done(`ENTRYPOINT ${goList(c.Entrypoint ?? [])}`);
    case 'EXPOSE': {
      const ws = expand(ins.args, vars.lookup, vars.escape).words;
      c.ExposedPorts = { ...c.ExposedPorts, ...Object.fromEntries(ws.flatMap(ports).map((p) => [p, {}])) };
      return done(`EXPOSE ${ws.join(' ')}`);
    }
    case 'VOLUME': {
      const vols = ins.json ? ins.json.map((v) => expand(v, vars.lookup, vars.escape).text) : expand(ins.args, vars.lookup, vars.escape).words;
      if (!vols.length || vols.some((v) => v.trim() === '')) throw new Error('VOLUME specified can not be an empty string');
      c.Volumes = { ...c.Volumes, ...Object.fromEntries(vols.map((v) => [v, {}])) };
      return done(`VOLUME [${vols.join(' ')}]`);
    }
    case 'USER':
      c.User = single(ins, vars);
      return done(`USER ${c.User}`);
    case 'STOPSIGNAL':
      c.StopSignal = single(ins, vars);
      return done(`STOPSIGNAL ${c.StopSignal}`);
    case 'SHELL':
      if (!ins.json?.length) throw new Error('SHELL requires the arguments to be in JSON form');
      c.Shell = ins.json;
      return done(`SHELL [${c.Shell.join(' ')}]`);
    case 'HEALTHCHECK':
      c.Healthcheck = healthcheck(ins);
      return done(ins.text);
    case 'ONBUILD': {
      const [word] = ins.args.split(/\s+/, 1);
      const trigger = `${word!.toUpperCase()}${ins.args.slice(word!.length)}`;
      c.OnBuild = [...(c.OnBuild ?? []), trigger];
      return done(`ONBUILD ${trigger}`);
    }
    case 'MAINTAINER':
      return done(`MAINTAINER ${ins.args}`, ins.args);
    case 'WORKDIR': {
      const dir = expand(ins.args, vars.lookup, vars.escape).text;
      c.WorkingDir = path.posix.resolve('/', c.WorkingDir || '/', dir);
      return done(`WORKDIR ${c.WorkingDir}`);
    }
    default:
      throw new Error(`${ins.keyword} is not a config instruction`);
  }
}
