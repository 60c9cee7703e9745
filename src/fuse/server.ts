import { createAdapter } from './adapter.js';
import { LaminaFuse, statLayout } from './binding.js';
import { detachMount, findMount } from './mountinfo.js';
import { mountOptions, type FuseMountOpts } from './mount-options.js';
import { removeRecord, stateFiles, writeRecord } from './mount-state.js';
import { createView, type MountSpec } from './view-kinds.js';

/** What serve-mount.js receives (as JSON after the mountpoint). */
export interface ServerConfig {
  runDir: string;
  spec: MountSpec;
  fuse: FuseMountOpts;
}

const WATCH_MS = 2000;
const log = (msg: string) => console.error(`${new Date().toISOString()} lamina-fuse[${process.pid}]: ${msg}`);

/**
 * Mounts `dir` and serves it until SIGTERM/SIGINT/SIGHUP or until the mount disappears;
 * resolves with the exit code. Never touches `dir` itself once mounted (that would
 * deadlock: this thread answers the requests).
 */
export async function serveMount(dir: string, cfg: ServerConfig): Promise<number> {
  const view = await createView(cfg.spec);
  const adapter = createAdapter(view);
  const fuse = new LaminaFuse(dir, adapter.ops, mountOptions(cfg.fuse));
  await fuse.mountAsync();
  const logFile = stateFiles(cfg.runDir, dir).log;
  await writeRecord(cfg.runDir, { dir, pid: process.pid, spec: cfg.spec, fuse: cfg.fuse, startedAt: new Date().toISOString(), logFile });
  log(`serving ${dir} (${cfg.spec.kind}, stat layout ${statLayout})`);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = async (why: string, unmount: boolean) => {
      if (stopping) return;
      stopping = true;
      clearInterval(watch);
      log(`stopping: ${why}`);
      resolve(await shutdown(dir, cfg.runDir, unmount, async () => { await adapter.close(); await view.close?.(); }));
    };
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void stop(sig, true));
    const watch = setInterval(() => void findMount(dir).then((m) => {
      if (!m) void stop('mount vanished', false);
    }), WATCH_MS);
  });
}

async function shutdown(dir: string, runDir: string, unmount: boolean, close: () => Promise<void>): Promise<number> {
  let code = 0;
  try {
    if (unmount && (await findMount(dir))) log(`unmounted with ${await detachMount(dir, false)}`);
  } catch (err) {
    log(String(err));
    code = 1;
  }
  await close().catch((err: unknown) => log(`closing view: ${String(err)}`));
  await removeRecord(runDir, dir, process.pid);
  return code;
}
