// lamina build: a Dockerfile's stages, step by step, each step an image of its own (reused
// from the build cache when its parent and inputs match), with docker's classic output:
// `Step N/M : INSTR`, ` ---> Using cache`, ` ---> ID`, then `Successfully built ID`.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { deriveImage } from '../image/commit.js';
import { familiar, formatReference, normalizeReference } from '../image/reference.js';
import { expand, type Lookup } from '../image/shell-words.js';
import { imageFor } from '../run/run.js';
import { resolveImage } from '../image/resolve.js';
import { shortId } from '../store/digest.js';
import { ImgError, messageOf } from '../store/errors.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';
import { parseDockerfile, parseTrigger, StepError, stepError, type Dockerfile, type Stage, type Step } from './dockerfile.js';
import { copyStep, runStep, workdirStep } from './layer-steps.js';
import { SourceTree } from './sources.js';
import { newBuildEnv, StageState, type BuildEnv } from './stage.js';

export interface BuildOpts {
  /** The context directory. */
  context: string;
  /** The Dockerfile's path (default CONTEXT/Dockerfile), or its text with a name for errors. */
  dockerfile?: string | { name: string; text: string };
  tags: string[];
  /** --build-arg K=V, or K to take the value from the environment. */
  buildArgs: string[];
  target?: string;
  noCache: boolean;
  /** SOURCE_DATE_EPOCH in seconds. */
  epoch?: number;
  out: (line: string) => void;
  /** Receives RUN output instead of the terminal. */
  runOutput?: (chunk: Buffer) => void;
}

export interface BuildResult {
  id: Digest;
  tags: string[];
  /** Steps run, and how many of them came from the cache. */
  steps: number;
  cached: number;
}

async function readDockerfile(o: BuildOpts): Promise<Dockerfile> {
  if (typeof o.dockerfile === 'object') return parseDockerfile(o.dockerfile.text, o.dockerfile.name);
  const file = o.dockerfile ?? path.join(o.context, 'Dockerfile');
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ImgError(err.code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `failed to read Dockerfile ${file}: ${messageOf(err)}`);
  });
  if (text.trim() === '') throw new ImgError('INVALID_ARGUMENT', `the Dockerfile (${file}) cannot be empty`);
  return parseDockerfile(text, path.relative(process.cwd(), file) || file);
}

/** --build-arg values; a bare K takes the value from lamina's own environment (docker), or stays unset. */
function parseBuildArgs(args: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq === 0) throw new ImgError('INVALID_ARGUMENT', `invalid build argument "${a}": want KEY=VALUE`);
    if (eq > 0) m.set(a.slice(0, eq), a.slice(eq + 1));
    else if (process.env[a] !== undefined) m.set(a, process.env[a]!);
  }
  return m;
}

/** One ARG instruction's declarations: [name, value], the value from --build-arg, else the default, else `inherited`. */
function declaredArgs(step: Step, env: Pick<BuildEnv, 'escape'>, lookup: Lookup, buildArgs: Map<string, string>,
  inherited: (name: string) => string | undefined): Array<[string, string | undefined, string]> {
  return step.args.split(/\s+/).map((decl) => {
    const eq = decl.indexOf('=');
    const name = eq < 0 ? decl : decl.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid ARG name "${name}"`);
    const dflt = eq < 0 ? undefined : expand(decl.slice(eq + 1), lookup, env.escape).text;
    return [name, buildArgs.get(name) ?? dflt ?? inherited(name), `${name}${dflt === undefined ? '' : `=${dflt}`}`];
  });
}

class Build {
  readonly env: BuildEnv;
  private readonly buildArgs: Map<string, string>;
  private readonly consumed = new Set<string>();
  private readonly meta = new Map<string, string | undefined>();
  n = 0;
  private total = 0;
  interrupted?: string;

  constructor(store: Store, readonly df: Dockerfile, context: SourceTree, readonly o: BuildOpts) {
    this.buildArgs = parseBuildArgs(o.buildArgs);
    this.env = newBuildEnv(store, {
      file: df.file, escape: df.escape, noCache: o.noCache, epoch: o.epoch, context, out: o.out, runOutput: o.runOutput,
      checkInterrupted: () => {
        if (this.interrupted) throw new ImgError('FAILED_PRECONDITION', `build interrupted by ${this.interrupted}`);
      },
    });
  }

  /** The stages to build: all of them, or up to --target. */
  stages(): Stage[] {
    if (this.o.target === undefined) return this.df.stages;
    const i = this.df.stages.findIndex((s) => s.name === this.o.target!.toLowerCase());
    if (i < 0) throw new ImgError('NOT_FOUND', `target stage "${this.o.target}" could not be found`);
    return this.df.stages.slice(0, i + 1);
  }

  async run(): Promise<Digest> {
    const stages = this.stages();
    this.total = stages.reduce((n, s) => n + 1 + s.steps.length, 0);
    for (const step of this.df.metaArgs) {
      for (const [name, value] of this.declare(step, (n) => this.meta.get(n), () => undefined)) this.meta.set(name, value);
    }
    let last: Digest | undefined;
    for (const stage of stages) {
      last = await this.stage(stage);
      this.env.stages.set(String(stage.index), last);
      if (stage.name) this.env.stages.set(stage.name, last);
    }
    const unused = [...this.buildArgs.keys()].filter((k) => !this.consumed.has(k));
    if (unused.length) this.o.out(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed`);
    return last!;
  }

  private declare(step: Step, lookup: Lookup, inherited: (n: string) => string | undefined) {
    const decls = (() => {
      try {
        return declaredArgs(step, this.env, lookup, this.buildArgs, inherited);
      } catch (err) {
        throw stepError(this.df.file, step.line, messageOf(err), 'INVALID_ARGUMENT', err);
      }
    })();
    for (const [name] of decls) this.consumed.add(name);
    return decls;
  }

  private say(step: Step): void {
    this.env.checkInterrupted();
    this.o.out(`Step ${++this.n}/${this.total} : ${step.text.split('\n')[0]}`);
  }

  /** FROM: scratch, an earlier stage, or an image (pulled when missing); the name sees only the ARGs before the first FROM. */
  private async from(stage: Stage): Promise<StageState> {
    this.say(stage.from);
    const name = expand(stage.from.args.split(/\s+/)[0]!, (n) => this.meta.get(n), this.df.escape).text;
    const st = await this.fromImage(stage.from, name);
    const triggers = st.container.OnBuild ?? [];
    if (triggers.length) {
      st.config = { ...st.config, config: { ...st.container, OnBuild: null } }; // triggers run once: the child has none
      this.o.out(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}`);
      for (const t of triggers) await this.step(st, parseTrigger(t, this.df.file, stage.from.line));
    }
    return st;
  }

  private async fromImage(step: Step, name: string): Promise<StageState> {
    if (name === '') throw stepError(this.df.file, step.line, 'base name (FROM) should not be blank');
    if (name.toLowerCase() === 'scratch') {
      const { id } = await deriveImage(this.env.store, { what: 'FROM scratch', config: (p) => p });
      this.env.out(' ---> ');
      return StageState.at(this.env, id);
    }
    const stage = this.env.stages.get(name.toLowerCase());
    const id = stage ?? (await this.pulled(step, name));
    this.env.out(` ---> ${shortId(id)}`);
    return StageState.at(this.env, id);
  }

  private async pulled(step: Step, name: string): Promise<Digest> {
    try {
      await imageFor(this.env.store, name, this.o.out);
      return resolveImage(this.env.store, name).id;
    } catch (err) {
      throw stepError(this.df.file, step.line, `FROM ${name}: ${messageOf(err)}`, 'FAILED_PRECONDITION', err);
    }
  }

  private async stage(stage: Stage): Promise<Digest> {
    const st = await this.from(stage);
    for (const step of stage.steps) {
      this.say(step);
      await this.step(st, step);
    }
    return st.image;
  }

  /** One instruction; an error without a line gets the step's. */
  private async step(st: StageState, step: Step): Promise<void> {
    try {
      await this.dispatch(st, step);
    } catch (err) {
      if (err instanceof StepError) throw err;
      throw stepError(this.df.file, step.line, messageOf(err), err instanceof ImgError ? 'FAILED_PRECONDITION' : 'INVALID_ARGUMENT', err);
    }
  }

  private async dispatch(st: StageState, step: Step): Promise<void> {
    switch (step.keyword) {
      case 'RUN':
        return runStep(st, step);
      case 'COPY':
      case 'ADD':
        return copyStep(st, step);
      case 'WORKDIR':
        return workdirStep(st, step);
      case 'ARG':
        return this.arg(st, step);
      default: {
        const r = st.configStep(step);
        return st.cached([step.keyword, r.createdBy, r.config, st.author ?? null], () => st.commitConfig(step, r));
      }
    }
  }

  /** ARG: a value for the rest of the stage (visible to RUN as environment), recorded like docker as a step. */
  private async arg(st: StageState, step: Step): Promise<void> {
    const decls = this.declare(step, st.vars().lookup, (n) => this.meta.get(n));
    for (const [name, value] of decls) st.args.set(name, value);
    const r = { createdBy: st.nop(`ARG ${decls.map(([, , shown]) => shown).join(' ')}`), config: st.container };
    await st.cached(['ARG', r.createdBy, decls.map(([n, v]) => [n, v ?? null])], () => st.commitConfig(step, r));
  }
}

/** Checks the -t names before anything runs; returns them in full form. */
function tagNames(tags: string[]): string[] {
  return tags.map((t) => {
    const ref = normalizeReference(t);
    if (ref.digest) throw new ImgError('INVALID_ARGUMENT', `invalid tag "${t}": a tag cannot contain a digest`);
    return formatReference(ref);
  });
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** docker build: the image of the Dockerfile's last (or --target) stage, tagged with every -t. */
export async function build(store: Store, o: BuildOpts): Promise<BuildResult> {
  const tags = tagNames(o.tags);
  const ctx = await stat(o.context).catch(() => undefined);
  if (!ctx?.isDirectory()) throw new ImgError('NOT_FOUND', `unable to prepare context: path "${o.context}" not found or not a directory`);
  const df = await readDockerfile(o);
  const b = new Build(store, df, await SourceTree.context(o.context), o);
  // A signal stops the build at the next step, after the current one cleaned up (a RUN's command gets it too).
  const stop = (sig: NodeJS.Signals) => {
    b.interrupted = sig;
  };
  for (const s of SIGNALS) process.on(s, stop);
  try {
    const id = await b.run();
    store.index.transaction(() => tags.forEach((t) => store.index.tag(t, id)));
    o.out(`Successfully built ${shortId(id)}`);
    for (const t of tags) o.out(`Successfully tagged ${familiar(t)}`);
    return { id, tags, steps: b.n, cached: b.env.hits };
  } finally {
    for (const s of SIGNALS) process.off(s, stop);
  }
}
