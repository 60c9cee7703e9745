// Entry of a container's monitor process: node monitor-main.js ROOT ID SOCKET [--attach].
// Started detached by lifecycle.ts; its fd 3 carries one JSON line (listening, or why not) and is
// closed before the monitor spawns anything, so no child of it holds the starter's pipe.
import { closeSync, writeSync } from 'node:fs';
import { runMonitor } from './monitor.js';

const [root, id, socket, mode] = process.argv.slice(2);
let reported = false;
const report = (msg: Record<string, unknown>) => {
  if (reported) return;
  reported = true;
  try {
    writeSync(3, `${JSON.stringify(msg)}\n`);
    closeSync(3);
  } catch {
    // the starter is gone; the container runs on
  }
};

if (!root || !id || !socket) {
  process.stderr.write('usage: monitor-main.js ROOT ID SOCKET [--attach]\n');
  process.exit(2);
}
process.title = `lamina-monitor ${id}`;
runMonitor({ root, id, socket, waitForAttach: mode === '--attach', report }).then((code) => {
  report({ error: 'the monitor ended before it listened', code: 'INTERNAL' });
  process.exit(code);
}, (err: unknown) => {
  process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  report({ error: (err as Error)?.message ?? String(err), code: 'INTERNAL' });
  process.exit(1);
});
