// docker commit --change: Dockerfile instructions applied to an image's container config.
// A line is parsed and checked by instructionOf and applied by applyInstruction, the same
// functions `lamina build` uses for a Dockerfile's line, as docker runs its builder's parser
// and dispatchers for --change.
import { DockerfileParser } from 'dockerfile-ast';
import { ImgError } from '../store/errors.js';
import { CHANGE_INSTRUCTIONS } from './change-instructions.js';
import { instructionOf } from './dockerfile-instruction.js';
import { applyInstruction, type Instruction } from './instruction.js';
import type { ContainerConfig } from './oci.js';
import { envLookup } from './shell-words.js';

const bad = (change: string, why: string) => new ImgError('INVALID_ARGUMENT', `change ${JSON.stringify(change)}: ${why}`);

/** Dockerfile lines of the changes: one per -c, or several joined by newlines, `\` continuing a line. */
function lines(changes: string[]): string[] {
  const text = changes.join('\n').replace(/\\[ \t]*\r?\n/g, '');
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** One line as an instruction, parsed and checked as `lamina build` parses a Dockerfile's line. */
export function parseChange(line: string): Instruction {
  return instructionOf(DockerfileParser.parse(line).getInstructions()[0]!);
}

/** The container config with `changes` applied in order (a copy; `base` is not modified). */
export function applyChanges(base: ContainerConfig | undefined, changes: string[]): ContainerConfig {
  let c = base ?? {};
  let cmdSet = false;
  for (const line of lines(changes)) {
    const keyword = line.split(/\s/, 1)[0]!.toUpperCase();
    if (!(CHANGE_INSTRUCTIONS as readonly string[]).includes(keyword)) {
      throw bad(line, `${keyword} is not a valid change command (commit supports ${CHANGE_INSTRUCTIONS.join(', ')})`);
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
