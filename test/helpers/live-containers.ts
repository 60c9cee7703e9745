// Containers that run: their monitors, and cleaning up after them by PID.
import { readdir, readFile, symlink, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { busyboxRootfs } from './images.js';
import { expect } from 'vitest';
import { mountsUnder } from './containers.js';
import { pidAlive, waitFor, type RunResult } from './proc.js';

/** Applets beyond busyboxRootfs's that running containers need. */
const MORE_APPLETS = ['httpd', 'kill', 'tty', 'stty', 'ps', 'unshare', 'nc', 'wget', 'ip', 'cut', 'awk', 'seq', 'chroot', 'yes'];

/** busybox with a web page in /www and the applets a server and its tests use. */
export async function webRootfs(dir: string): Promise<void> {
  await busyboxRootfs(dir);
  for (const a of MORE_APPLETS) await symlink('busybox', path.join(dir, 'bin', a)).catch(() => undefined);
  await mkdir(path.join(dir, 'www'), { recursive: true });
  await writeFile(path.join(dir, 'www/index.html'), '<h1>hello from lamina</h1>\n');
}

/** What the web image runs: httpd in the background, a clean exit 0 on SIGTERM. */
export const WEB_CMD = ['sh', '-c', "echo listening on 80; httpd -f -v -p 80 -h /www & trap 'kill $!; echo bye; exit 0' TERM; wait"];

interface Proc { pid: number; cmd: string }

async function processes(): Promise<Proc[]> {
  const out: Proc[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();
    if (cmd) out.push({ pid: Number(name), cmd });
  }
  return out;
}

/** The PIDs of live monitors of the containers in store `root`. */
export async function monitorPids(root: string): Promise<number[]> {
  const ids = await readdir(path.join(root, 'containers')).catch(() => [] as string[]);
  return (await processes()).filter((p) => ids.some((id) => p.cmd === `lamina-monitor ${id}` || (p.cmd.includes('monitor-main') && p.cmd.includes(id))))
    .map((p) => p.pid);
}

/**
 * Removes every container of the store with `rm -f`, then SIGKILLs (by PID) any monitor that
 * is still there; resolves with the monitors that had to be killed (a test should see none).
 */
export async function removeAllContainers(root: string, cli: (args: string[]) => Promise<RunResult>): Promise<number[]> {
  const ids = (await cli(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  if (ids.length) await cli(['rm', '-f', ...ids]);
  const left = await monitorPids(root);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  for (const pid of left) await waitFor(async () => !(await pidAlive(pid)), { what: `monitor ${pid} to end` });
  return left;
}

/** afterEach of a file with running containers: rm -f them all; no monitor to kill, no mount left under `work`. */
export async function expectNothingLeft(root: string, work: string, cli: (args: string[]) => Promise<RunResult>): Promise<void> {
  expect(await removeAllContainers(root, cli), 'monitors left running').toEqual([]);
  expect(await mountsUnder(work)).toEqual([]);
}

/** `ps -a --format json` rows of the store. */
export async function psRows(cli: (args: string[]) => Promise<RunResult>): Promise<Array<Record<string, string>>> {
  const r = await cli(['ps', '-a', '--no-trunc', '--format', 'json']);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
}
