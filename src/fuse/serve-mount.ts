// Entry point of a mount server process: `node serve-mount.js <dir> <ServerConfig JSON>`.
// Started detached by mount-process.ts; logs go to stderr (the mount's log file).
import { serveMount, type ServerConfig } from './server.js';

const [dir, config] = process.argv.slice(2);
if (!dir || !config) {
  console.error('usage: serve-mount.js <dir> <config-json>');
  process.exit(2);
}
process.on('uncaughtException', (err) => console.error('lamina-fuse: uncaught exception:', err));
serveMount(dir, JSON.parse(config) as ServerConfig).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('lamina-fuse: mount failed:', err);
    process.exit(1);
  },
);
