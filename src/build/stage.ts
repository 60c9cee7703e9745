// The state one build stage carries from step to step, and the per-step machinery every step
// shares: the build cache lookup, committing a step's image, and printing its ID.
import { createHash } from 'node:crypto';
import { buildCache, type BuildCache } from '../image/build-cache.js';
import { childOf, deriveImage } from '../image/commit.js';
import { readConfig } from '../image/inspect.js';
import { applyInstruction, DEFAULT_SHELL, type Vars } from '../image/instruction.js';
import { envLookup } from '../image/shell-words.js';
import type { ContainerConfig, ImageConfig } from '../image/oci.js';
import { shortId } from '../store/digest.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';
import { stepError, type Step } from './dockerfile.js';
import type { SourceTree } from './sources.js';

/** What every step of one build shares. */
export interface BuildEnv {
  store: Store;
  cache: BuildCache;
  /** The Dockerfile's name, for errors (`Dockerfile:3: ...`). */
  file: string;
  escape: string;
  noCache: boolean;
  /** SOURCE_DATE_EPOCH: every time the build writes is this one, or earlier. */
  epoch?: number;
  context: SourceTree;
  /** Progress lines. */
  out: (line: string) => void;
  /** Receives RUN output instead of the terminal (-q). */
  runOutput?: (chunk: Buffer) => void;
  /** Finished stages' images, by name and by index. */
  stages: Map<string, Digest>;
  /** Throws when the build was interrupted. */
  checkInterrupted: () => void;
  /** Steps answered from the cache so far. */
  hits: number;
}

export function newBuildEnv(store: Store, o: Omit<BuildEnv, 'store' | 'cache' | 'stages' | 'hits'>): BuildEnv {
  return { ...o, store, cache: buildCache(store), stages: new Map(), hits: 0 };
}

/** A step's history record: `created_by`, and the config after the step. */
export interface StepResult {
  createdBy: string;
  config: ContainerConfig;
}

export class StageState {
  /** ARGs declared in this stage, with their values (undefined: declared without one). */
  readonly args = new Map<string, string | undefined>();
  /** Whether this stage set CMD (a later ENTRYPOINT keeps it). */
  cmdSet = false;
  author?: string;

  constructor(readonly env: BuildEnv, public image: Digest, public config: ImageConfig) {}

  static async at(env: BuildEnv, image: Digest): Promise<StageState> {
    return new StageState(env, image, await readConfig(env.store, image));
  }

  get container(): ContainerConfig {
    return this.config.config ?? {};
  }

  get shell(): string[] {
    return this.container.Shell ?? DEFAULT_SHELL;
  }

  /** Variables for word expansion: ENV values win over ARG values (docker). */
  vars(): Vars {
    const env = envLookup(this.container.Env ?? []);
    return { lookup: (n) => env(n) ?? this.args.get(n), escape: this.env.escape };
  }

  /** ARGs with values, as KEY=VALUE, sorted, leaving out those ENV sets: what RUN sees on top of the config's Env. */
  argEnv(): string[] {
    const envKeys = new Set((this.container.Env ?? []).map((e) => e.split('=')[0]));
    return [...this.args].filter(([k, v]) => v !== undefined && !envKeys.has(k)).map(([k, v]) => `${k}=${v}`).sort();
  }

  /** The time a step's image records. */
  created(): string {
    return new Date(this.env.epoch !== undefined ? this.env.epoch * 1000 : Date.now()).toISOString();
  }

  /** A config instruction (ENV, CMD, WORKDIR, ...) applied to this stage's config, noting CMD and MAINTAINER. */
  configStep(step: Step): StepResult {
    const m = applyInstruction(step, this.container, this.vars(), this.cmdSet);
    this.cmdSet = m.cmdSet;
    if (m.author) this.author = m.author;
    return { createdBy: this.nop(m.comment), config: m.config };
  }

  /** The history entry text of a config-only step, as docker writes it. */
  nop(comment: string): string {
    return `${this.shell.join(' ')} #(nop)  ${comment}`;
  }

  async moveTo(id: Digest): Promise<void> {
    this.image = id;
    this.config = await readConfig(this.env.store, id);
    this.env.out(` ---> ${shortId(id)}`);
  }

  /**
   * Reuses the image a step with the same `key` made on this image before, else makes it
   * with `make` and records it; either way the stage moves on to that image.
   */
  async cached(key: unknown[], make: () => Promise<Digest>): Promise<void> {
    const k = createHash('sha256').update(JSON.stringify([...key, this.env.epoch ?? null])).digest('hex');
    const hit = this.env.noCache ? undefined : this.env.cache.lookup(this.image, k);
    if (hit && this.env.store.index.image(hit)) {
      this.env.hits++;
      this.env.out(' ---> Using cache');
      return this.moveTo(hit);
    }
    const id = await make();
    this.env.cache.record(this.image, k, id);
    return this.moveTo(id);
  }

  /** A config-only child image (history entry with empty_layer). */
  async commitConfig(step: Step, r: StepResult): Promise<Digest> {
    const created = this.created();
    const d = await deriveImage(this.env.store, {
      parent: this.image, what: `${this.env.file}:${step.line}`,
      config: (p) => childOf(p, { config: r.config, entry: { created_by: r.createdBy }, created, author: this.author }),
    });
    return d.id;
  }

  /** The error for `step`, naming the file and line. */
  error(step: Step, message: string, cause?: unknown): Error {
    return stepError(this.env.file, step.line, message, 'FAILED_PRECONDITION', cause);
  }
}
