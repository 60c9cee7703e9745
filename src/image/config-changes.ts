// docker commit --change: Dockerfile instructions applied to an image's container config.
// Only the instructions docker accepts there that change the config; the parsing is
// Dockerfile's for one instruction (JSON or shell form, quotes, $VAR substitution).
import path from 'node:path';
import { ImgError } from '../store/errors.js';
import type { ContainerConfig } from './oci.js';
import { expand } from './shell-words.js';

export const CHANGE_INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'] as const;
type Instruction = (typeof CHANGE_INSTRUCTIONS)[number];

const SHELL = ['/bin/sh', '-c'];

const bad = (change: string, why: string) => new ImgError('INVALID_ARGUMENT', `change ${JSON.stringify(change)}: ${why}`);

/** Dockerfile lines of the changes: one per -c, or several joined by newlines, `\` continuing a line. */
function lines(changes: string[]): string[] {
  const text = changes.join('\n').replace(/\\[ \t]*\r?\n/g, '');
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** An exec-form argument list, or undefined when `s` is not a JSON array of strings (then it is shell form). */
function jsonArgs(s: string): string[] | undefined {
  if (!s.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

const envMap = (env: string[]): Map<string, string> =>
  new Map(env.map((e) => (e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : [e, ''])));

/** Dockerfile words: quotes removed, escapes applied, `$VAR` forms expanded from `env` (see shell-words.ts). */
export function words(s: string, env: Map<string, string>): string[] {
  return expand(s, (name) => env.get(name)).words;
}

/** `k=v k2=v2` pairs, or the legacy one-pair form `k v w` (LABEL and ENV). */
function pairs(args: string, env: Map<string, string>, what: string): Array<[string, string]> {
  const ws = words(args, env);
  if (ws.length === 0) throw new Error(`${what} needs at least one argument`);
  if (!ws[0]!.includes('=')) {
    if (ws.length < 2) throw new Error(`${what} needs a value: ${what} KEY=VALUE`);
    return [[ws[0]!, ws.slice(1).join(' ')]];
  }
  return ws.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new Error(`${what}: "${w}" is not KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
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

interface State {
  c: ContainerConfig;
  /** Set by a CMD of these changes: a later ENTRYPOINT then keeps it (Dockerfile semantics). */
  cmdSet: boolean;
}

function apply(s: State, instr: Instruction, args: string): void {
  const { c } = s;
  const env = envMap(c.Env ?? []);
  const cmdLike = () => jsonArgs(args) ?? [...SHELL, args];
  switch (instr) {
    case 'CMD':
      c.Cmd = cmdLike();
      s.cmdSet = true;
      return;
    case 'ENTRYPOINT':
      c.Entrypoint = args === '' ? null : cmdLike();
      if (!s.cmdSet) c.Cmd = null;
      return;
    case 'ENV':
      for (const [k, v] of pairs(args, env, 'ENV')) env.set(k, v);
      c.Env = [...env].map(([k, v]) => `${k}=${v}`);
      return;
    case 'LABEL':
      c.Labels = { ...c.Labels, ...Object.fromEntries(pairs(args, env, 'LABEL')) };
      return;
    case 'EXPOSE':
      c.ExposedPorts = { ...c.ExposedPorts, ...Object.fromEntries(words(args, env).flatMap(ports).map((p) => [p, {}])) };
      return;
    case 'VOLUME': {
      const vols = jsonArgs(args) ?? words(args, env);
      if (vols.length === 0 || vols.some((v) => v === '')) throw new Error('VOLUME needs a path');
      c.Volumes = { ...c.Volumes, ...Object.fromEntries(vols.map((v) => [v, {}])) };
      return;
    }
    case 'WORKDIR': {
      const dir = words(args, env).join(' ');
      if (dir === '') throw new Error('WORKDIR needs a path');
      c.WorkingDir = path.posix.resolve('/', c.WorkingDir || '/', dir);
      return;
    }
    case 'USER':
    case 'STOPSIGNAL': {
      const v = words(args, env);
      if (v.length !== 1) throw new Error(`${instr} takes exactly one argument`);
      if (instr === 'USER') c.User = v[0];
      else c.StopSignal = v[0];
    }
  }
}

/** The container config with `changes` applied in order (a copy; `base` is not modified). */
export function applyChanges(base: ContainerConfig | undefined, changes: string[]): ContainerConfig {
  const s: State = { c: structuredClone(base ?? {}), cmdSet: false };
  for (const line of lines(changes)) {
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line)!;
    const instr = m[1]!.toUpperCase() as Instruction;
    if (!CHANGE_INSTRUCTIONS.includes(instr)) {
      throw bad(line, `${m[1]} is not a valid change command (want one of ${CHANGE_INSTRUCTIONS.join(', ')})`);
    }
    try {
      apply(s, instr, m[2]!.trim());
    } catch (err) {
      throw bad(line, (err as Error).message);
    }
  }
  return s.c;
}
