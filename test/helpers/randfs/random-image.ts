/**
 * A random layer stack made real: layer tars on disk, an OCI layout (umoci raw
 * add-layer) loaded into a temp lamina store, and the model's records.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fixture, type Fixture } from '../containers.js';
import { tempDir } from '../lamina.js';
import { writeLayerTar } from './layer-tar.js';
import { randomLayerStack, type GenLayer, type StackOptions } from './random-layers.js';
import { modelRecords, type FsRecord } from './tree-records.js';

export interface RandomImage {
  seed: number;
  layers: GenLayer[];
  /** Layer tars, oldest first. */
  tars: string[];
  /** The store holding the image (tagged `store.ref`), with mount helpers that clean up. */
  store: Fixture;
  /** What the union model says the merged tree is. */
  model: FsRecord[];
  cleanup(): Promise<void>;
}

export async function randomImage(seed: number, opts: StackOptions = {}): Promise<RandomImage> {
  const layers = randomLayerStack(seed, opts);
  const { dir, cleanup: dropTars } = await tempDir(`lamina-rand-${seed}-`);
  const tars: string[] = [];
  try {
    await mkdir(dir, { recursive: true });
    for (const [i, l] of layers.entries()) {
      tars.push(path.join(dir, `layer${i}.tar`));
      await writeLayerTar(tars[i]!, l);
    }
    const store = await fixture(`lamina-rand-${seed}-store-`, tars.map((tar) => ({ tar })), `lamina.test/random:${seed}`);
    return {
      seed, layers, tars, store, model: modelRecords(layers),
      async cleanup() {
        await store.cleanup();
        await dropTars();
      },
    };
  } catch (e) {
    await dropTars();
    throw e;
  }
}
