// One Dockerfile instruction as dockerfile-ast parsed it, checked as docker's parser checks it:
// a known keyword, only the flags it takes, arguments where it needs them, a valid ONBUILD
// trigger. The one parser behind both `lamina build` (build/dockerfile.ts) and `commit --change`
// (config-changes.ts), so the two read a line alike.
import { ModifiableInstruction, type Instruction as AstInstruction } from 'dockerfile-ast';
import { jsonArgs } from './instruction-args.js';
import { MAY_BE_EMPTY, type Instruction } from './instruction.js';

export const INSTRUCTIONS = ['ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'] as const;
export type Keyword = (typeof INSTRUCTIONS)[number];

/** Flags each instruction accepts (`--name=value`); others are an error, as in docker. */
const FLAGS: Partial<Record<Keyword, string[]>> = {
  ADD: ['chown', 'chmod'],
  COPY: ['from', 'chown', 'chmod'],
  FROM: ['platform'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

export const isKeyword = (word: string): word is Keyword => (INSTRUCTIONS as readonly string[]).includes(word);

/** Why `trigger` (`RUN echo hi`) may not follow ONBUILD, in docker's words; undefined when it may. */
function triggerError(trigger: string): string | undefined {
  const keyword = trigger.split(/\s+/, 1)[0]!.toUpperCase();
  if (keyword === 'ONBUILD') return "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed";
  if (keyword === 'FROM' || keyword === 'MAINTAINER') return `${keyword} isn't allowed as an ONBUILD trigger`;
  if (!isKeyword(keyword)) return `unknown instruction: ${keyword}`;
  return undefined;
}

/** `i` as an instruction; an error (without a line: callers add theirs) when docker's parser would refuse it. */
export function instructionOf(i: AstInstruction): Instruction & { keyword: Keyword } {
  const keyword = i.getKeyword();
  if (!isKeyword(keyword)) throw new Error(`unknown instruction: ${i.getInstruction()}`);
  const flags = new Map<string, string>();
  for (const f of i instanceof ModifiableInstruction ? i.getFlags() : []) {
    if (!FLAGS[keyword]?.includes(f.getName())) throw new Error(`unknown flag: ${f.getName()}`);
    if (f.getValue() === null) throw new Error(`missing a value on flag: ${f.getName()}`);
    flags.set(f.getName(), f.getValue()!);
  }
  const args = (i.getArgumentsContent() ?? '').trim();
  if (args === '' && !MAY_BE_EMPTY.includes(keyword)) throw new Error(`${keyword} requires at least one argument`);
  const bad = keyword === 'ONBUILD' ? triggerError(args) : undefined;
  if (bad) throw new Error(bad);
  const text = [keyword, ...[...flags].map(([n, v]) => `--${n}=${v}`), args].filter((w) => w !== '').join(' ');
  return { keyword, args, flags, json: jsonArgs(args), text };
}
