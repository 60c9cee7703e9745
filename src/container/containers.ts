import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ContainerIndex, type ContainerRecord } from './container-index.js';
import type { RunSpec } from './run-spec.js';
import { ImgError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { resolveImage } from '../image/resolve.js';

export type { ContainerRecord } from './container-index.js';

// A few of docker's namesgenerator words: "adjective_surname".
const ADJECTIVES = ['admiring', 'agitated', 'amazing', 'angry', 'awesome', 'blissful', 'bold', 'brave', 'busy', 'charming',
  'clever', 'cool', 'dazzling', 'determined', 'eager', 'ecstatic', 'elegant', 'epic', 'festive', 'focused', 'friendly',
  'gallant', 'gifted', 'happy', 'hopeful', 'jolly', 'keen', 'kind', 'loving', 'modest', 'nifty', 'optimistic', 'peaceful',
  'quirky', 'relaxed', 'serene', 'sharp', 'stoic', 'tender', 'vibrant', 'wizardly', 'zealous'];
const SURNAMES = ['albattani', 'babbage', 'bell', 'curie', 'darwin', 'dijkstra', 'einstein', 'euler', 'feynman', 'galileo',
  'goldberg', 'hopper', 'hypatia', 'johnson', 'kepler', 'knuth', 'lamport', 'liskov', 'lovelace', 'mccarthy', 'meitner',
  'newton', 'noether', 'pascal', 'ritchie', 'shannon', 'thompson', 'torvalds', 'turing', 'wozniak', 'yalow'];

const pick = <T>(xs: readonly T[]): T => xs[randomBytes(4).readUInt32BE() % xs.length]!;
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The containers table of a store. */
export const containers = (store: Store): ContainerIndex => new ContainerIndex(store.index.db);

function randomName(index: ContainerIndex): string {
  for (let i = 0; ; i++) {
    const name = `${pick(ADJECTIVES)}_${pick(SURNAMES)}${i > 5 ? i : ''}`;
    if (!index.find(name).some((c) => c.name === name)) return name;
  }
}

/** docker create: a new container (record + empty writable layer) for the image `ref`, run as `spec` says. */
export async function createContainer(store: Store, ref: string, opts: { name?: string; spec?: RunSpec } = {}): Promise<ContainerRecord> {
  const { id: imageId } = resolveImage(store, ref);
  const index = containers(store);
  if (opts.name !== undefined && !NAME_RE.test(opts.name)) {
    throw new ImgError('INVALID_ARGUMENT', `Invalid container name (${opts.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  const id = randomBytes(32).toString('hex');
  const dir = path.join(store.root, 'containers', id);
  const rec: ContainerRecord = { id, name: '', imageId, imageRef: ref, created: new Date().toISOString(),
    upperDir: path.join(dir, 'upper'), workDir: path.join(dir, 'work'), spec: opts.spec, run: { state: 'created', restartCount: 0, stoppedByUser: false } };
  await mkdir(rec.upperDir, { recursive: true, mode: 0o755 });
  await mkdir(rec.workDir, { recursive: true, mode: 0o700 });
  try {
    // The name is checked (or chosen) and taken in one transaction: creates running at once never collide.
    rec.name = index.exclusively(() => {
      const name = opts.name ?? randomName(index);
      const taken = index.find(name).find((c) => c.name === name);
      if (taken) {
        throw new ImgError('ALREADY_EXISTS', `Conflict. The container name "/${name}" is already in use by container "${taken.id}". You have to remove (or rename) that container to be able to reuse that name.`);
      }
      index.add({ ...rec, name });
      return name;
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return rec;
}

/** A container by ID, name or unique ID prefix. */
export function findContainer(store: Store, s: string): ContainerRecord {
  const hits = containers(store).find(s);
  if (hits.length > 1) throw new ImgError('INVALID_ARGUMENT', `multiple containers found with provided prefix: ${s}`);
  if (!hits[0]) throw new ImgError('NOT_FOUND', `No such container: ${s}`);
  return hits[0];
}

/** Forget a container and delete its writable layer; the caller unmounts it first. */
export async function removeContainer(store: Store, c: ContainerRecord): Promise<void> {
  containers(store).remove(c.id);
  await rm(path.dirname(c.upperDir), { recursive: true, force: true });
}
