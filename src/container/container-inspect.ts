import { readConfig } from '../image/inspect.js';
import type { ContainerConfig } from '../image/oci.js';
import type { Store } from '../store/store.js';
import type { ContainerRecord } from './container-index.js';
import type { ContainerSummary } from './container-list.js';

/** docker container inspect's shape, with the fields this store records. */
export async function inspectContainer(store: Store, c: ContainerRecord, s: ContainerSummary): Promise<Record<string, unknown>> {
  const cfg: ContainerConfig = await readConfig(store, c.imageId).then((x) => x.config ?? {}, () => ({}));
  const argv = [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])];
  return {
    Id: c.id,
    Created: c.created,
    Path: argv[0] ?? '',
    Args: argv.slice(1),
    State: { Status: s.state, Running: s.state === 'running', ExitCode: s.exitCode ?? 0 },
    Image: c.imageId,
    Name: `/${c.name}`,
    GraphDriver: { Name: 'lamina', Data: { UpperDir: c.upperDir, WorkDir: c.workDir, ...(s.mounts?.[0] ? { MergedDir: s.mounts[0] } : {}) } },
    Mounts: [],
    Config: { ...cfg, Image: c.imageRef, Labels: cfg.Labels ?? {} },
  };
}
