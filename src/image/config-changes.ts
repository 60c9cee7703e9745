// docker commit --change: Dockerfile instructions applied to an image's container config.
// A line is parsed as a Dockerfile line (exec or shell form) and applied by
// applyInstruction, the same function `lamina build` uses, as docker runs its builder's
// dispatchers for --change.
import { ImgError } from '../store/errors.js';
import { jsonArgs } from './instruction-args.js';
import { applyInstruction, type Instruction } from './instruction.js';
import type { ContainerConfig } from './oci.js';
import { envLookup } from './shell-words.js';

/** docker's list, less HEALTHCHECK and ONBUILD, plus STOPSIGNAL. */
export const CHANGE_INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'] as const;

const bad = (change: string, why: string) => new ImgError('INVALID_ARGUMENT', `change ${JSON.stringify(change)}: ${why}`);

/** Dockerfile lines of the changes: one per -c, or several joined by newlines, `\` continuing a line. */
function lines(changes: string[]): string[] {
  const text = changes.join('\n').replace(/\\[ \t]*\r?\n/g, '');
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/**
 * A line as an instruction. No flags are split off: none of CHANGE_INSTRUCTIONS takes one, and
 * build's parser leaves `--x` in their arguments too (HEALTHCHECK, which has flags, is not here).
 */
export function parseChange(line: string): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(line)!;
  const keyword = m[1]!.toUpperCase();
  const args = m[2]!.trim();
  return { keyword, args, flags: new Map(), json: jsonArgs(args), text: args ? `${keyword} ${args}` : keyword };
}

/** The container config with `changes` applied in order (a copy; `base` is not modified). */
export function applyChanges(base: ContainerConfig | undefined, changes: string[]): ContainerConfig {
  let c = base ?? {};
  let cmdSet = false;
  for (const line of lines(changes)) {
    const keyword = line.split(/\s/, 1)[0]!;
    if (!(CHANGE_INSTRUCTIONS as readonly string[]).includes(keyword.toUpperCase())) {
      throw bad(line, `${keyword} is not a valid change command (want one of ${CHANGE_INSTRUCTIONS.join(', ')})`);
    }
    try {
      // Words expand from the config's Env as it stands, as docker's builder does for --change.
      ({ config: c, cmdSet } = applyInstruction(parseChange(line), c, { lookup: envLookup(c.Env ?? []), escape: '\\' }, cmdSet));
    } catch (err) {
      throw bad(line, (err as Error).message);
    }
  }
  return base === c ? structuredClone(c) : c;
}
