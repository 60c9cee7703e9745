import type { ContainerRecord } from '../container/container-index.js';
import type { RunSpec } from '../container/run-spec.js';
import { readConfig } from '../image/inspect.js';
import type { Store } from '../store/store.js';
import { buildRunSpec } from './spec.js';

/** How container `c` runs: its recorded spec, or for one created without (lamina create, mount) the image's defaults. */
export async function specOf(store: Store, c: ContainerRecord): Promise<RunSpec> {
  if (c.spec) return c.spec;
  return buildRunSpec((await readConfig(store, c.imageId)).config, { cmd: [], env: [] }, { allowNoCommand: true });
}
