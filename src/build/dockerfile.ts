// A Dockerfile as build steps: parsed by dockerfile-ast (lines, continuations, comments,
// parser directives, flags, heredocs), then checked as docker's builder checks it, every
// error naming FILE:LINE. Words are expanded later, when a stage's variables are known.
import { Copy, DockerfileParser, Run, type Instruction as AstInstruction } from 'dockerfile-ast';
import { instructionOf, type Keyword } from '../image/dockerfile-instruction.js';
import { ImgError, messageOf } from '../store/errors.js';

export interface Heredoc {
  name: string;
  /** The lines between the opening line and the delimiter, leading tabs removed for `<<-`. */
  body: string;
}

export interface Step {
  keyword: Keyword;
  /** 1-based line of the instruction's first line. */
  line: number;
  /** Arguments after the flags, continuation lines joined (heredoc lines included). */
  args: string;
  flags: ReadonlyMap<string, string>;
  /** The arguments as an exec-form JSON array of strings, when they are one. */
  json?: string[];
  heredocs: Heredoc[];
  /** `KEYWORD --flags args`, continuation lines joined: the step as shown, and ONBUILD's trigger text. */
  text: string;
}

export interface Stage {
  /** Position among the stages, from 0. */
  index: number;
  /** `FROM ... AS name`, lower-cased as docker compares it. */
  name?: string;
  from: Step;
  steps: Step[];
}

export interface Dockerfile {
  /** The file as named to the user (errors start with it). */
  file: string;
  escape: string;
  /** ARG instructions before the first FROM. */
  metaArgs: Step[];
  stages: Stage[];
}

/** An error at a line of a Dockerfile: `FILE:LINE: message`. */
export class StepError extends ImgError {}

/** The error for a line of `file`. */
export function stepError(file: string, line: number, message: string, code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' = 'INVALID_ARGUMENT', cause?: unknown): StepError {
  return new StepError(code, `${file}:${line}: ${message}`, { cause });
}

function heredocsOf(i: AstInstruction, lines: string[]): Heredoc[] {
  const docs = i instanceof Run || i instanceof Copy ? i.getHeredocs() : [];
  const opener = lines[i.getRange().start.line] ?? '';
  return docs.map((h) => {
    const r = h.getContentRange();
    const body = r ? lines.slice(r.start.line, r.end.line + 1).join('\n') + '\n' : '';
    const stripTabs = new RegExp(`<<-["']?${h.getName()}`).test(opener);
    return { name: h.getName(), body: stripTabs ? body.replace(/^\t+/gm, '') : body };
  });
}

function toStep(i: AstInstruction, file: string, lines: string[]): Step {
  const line = i.getRange().start.line + 1;
  try {
    return { ...instructionOf(i), line, heredocs: heredocsOf(i, lines) };
  } catch (err) {
    throw stepError(file, line, messageOf(err));
  }
}

function fromName(s: Step, file: string): string | undefined {
  const m = /^(\S+)(?:\s+(\S+)\s+(\S+))?$/.exec(s.args);
  if (!m || (m[2] !== undefined && m[2].toUpperCase() !== 'AS')) {
    throw stepError(file, s.line, 'FROM requires either one or three arguments: FROM <image> [AS <name>]');
  }
  if (m[3] !== undefined && !/^[a-z][a-z0-9_.-]*$/i.test(m[3])) {
    throw stepError(file, s.line, `invalid name for build stage: "${m[3]}", name can't start with a number or contain symbols`);
  }
  return m[3]?.toLowerCase();
}

/** Parse and check a Dockerfile's text; `file` names it in errors. */
export function parseDockerfile(text: string, file: string): Dockerfile {
  const df = DockerfileParser.parse(text);
  const lines = text.split(/\r?\n/);
  const escape = df.getEscapeCharacter();
  if (escape !== '\\' && escape !== '`') throw stepError(file, 1, `invalid escape token '${escape}' does not match ` + '[\\\\`]');
  const out: Dockerfile = { file, escape, metaArgs: [], stages: [] };
  const names = new Set<string>();
  for (const i of df.getInstructions()) {
    const step = toStep(i, file, lines);
    if (step.keyword === 'FROM') {
      const name = fromName(step, file);
      if (name && names.has(name)) throw stepError(file, step.line, `duplicate stage name "${name}"`);
      if (name) names.add(name);
      out.stages.push({ index: out.stages.length, name, from: step, steps: [] });
    } else if (out.stages.length) out.stages.at(-1)!.steps.push(step);
    else if (step.keyword === 'ARG') out.metaArgs.push(step);
    else throw stepError(file, step.line, `no build stage in current context: ${step.keyword} before the first FROM`);
  }
  if (!out.stages.length) throw stepError(file, 1, 'file with no instructions: a Dockerfile needs a FROM');
  for (const s of out.stages) for (const step of s.steps) checkStep(step, file);
  return out;
}

/** Checks docker makes while parsing, before anything runs. */
function checkStep(s: Step, file: string): void {
  const err = (m: string) => stepError(file, s.line, m);
  switch (s.keyword) {
    case 'SHELL':
      if (!s.json || s.json.length === 0) throw err('SHELL requires the arguments to be in JSON form');
      return;
    case 'COPY':
    case 'ADD':
      if (!s.heredocs.length && (s.json ?? s.args.split(/\s+/)).length < 2) throw err(`${s.keyword} requires at least two arguments, but only one was provided. Destination could not be determined`);
      return;
    default:
  }
}

/** An ONBUILD trigger (`RUN echo hi`) as a step, reported at `line` (the FROM that ran it). */
export function parseTrigger(trigger: string, file: string, line: number): Step {
  const df = DockerfileParser.parse(trigger);
  const [i] = df.getInstructions();
  if (!i) throw stepError(file, line, `invalid ONBUILD trigger "${trigger}"`);
  const step = { ...toStep(i, file, trigger.split(/\r?\n/)), line };
  checkStep(step, file);
  return step;
}
