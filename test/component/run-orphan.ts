// Started by proc.test.ts through vite-node: a run() whose command never ends on its own
// (sleep 300, a grandchild of this process; its PID written to argv[3]); this process then
// ends by the signal the test sends it, or by process.exit on SIGUSR2 when argv[2] is 'exit'.
import { run } from '../helpers/proc.js';

const [how, pidFile] = process.argv.slice(2);
if (how === 'exit') process.on('SIGUSR2', () => process.exit(0));
void run('sh', ['-c', 'sleep 300 & echo $! > "$1.tmp" && mv "$1.tmp" "$1"; wait', 'sh', pidFile!], { timeout: 600_000 });
