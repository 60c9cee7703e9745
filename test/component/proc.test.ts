// run()'s commands do not outlive the test process that started them: run-orphan.ts starts
// one that never ends (its `sleep 300` a grandchild), then ends as a vitest worker does.
import { spawn } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/lamina.js';
import { pidAlive, run, waitFor } from '../helpers/proc.js';

const VITE_NODE = path.join(REPO, 'node_modules/.bin/vite-node');
const SCRIPT = path.join(REPO, 'test/component/run-orphan.ts');

let work: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir: work, cleanup } = await tempDir('lamina-proc-')));
afterAll(async () => cleanup?.());

describe('run() at the end of the test process', () => {
  it.each([
    ['process.exit', 'exit', 'SIGUSR2'],
    ['SIGTERM (vitest ending a fork worker)', 'signal', 'SIGTERM'],
    ['SIGINT (Ctrl-C)', 'signal', 'SIGINT'],
  ] as const)('kills the command and its children on %s', async (_t, how, signal) => {
    const pidFile = path.join(work, `${how}-${signal}.pid`);
    const child = spawn(VITE_NODE, [SCRIPT, how, pidFile], { stdio: 'ignore' });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('exit', (code, sig) => r([code, sig])));
    let sleeper: number | undefined;
    try {
      await waitFor(() => access(pidFile).then(() => true), { timeoutMs: 30_000, what: 'the pid file' });
      sleeper = Number(await readFile(pidFile, 'utf8'));
      expect(await pidAlive(sleeper)).toBe(true);
      child.kill(signal);
      // it ends as the signal would have ended it: the handler does not swallow it
      expect(await exited).toEqual(how === 'exit' ? [0, null] : [null, signal]);
      await waitFor(async () => !(await pidAlive(sleeper!)), { timeoutMs: 5_000, what: `sleep ${sleeper} to be gone` });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (sleeper && (await pidAlive(sleeper))) process.kill(sleeper, 'SIGKILL');
    }
  }, 60_000);

  it('a timeout kills the whole group: run() returns though a grandchild held its pipes', async () => {
    const t0 = Date.now();
    const r = await run('sh', ['-c', 'sleep 300 & echo $!; wait'], { timeout: 500 });
    expect(r.timedOut).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5_000);
    const sleeper = Number(r.stdout.trim());
    expect(sleeper).toBeGreaterThan(1);
    await waitFor(async () => !(await pidAlive(sleeper)), { timeoutMs: 5_000, what: `sleep ${sleeper} to be gone` });
  });
});
