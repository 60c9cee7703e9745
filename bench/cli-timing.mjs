// What the CLI benchmarks share: the built CLI's path, numeric --flags, and timed runs.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const BIN = path.join(REPO, 'bin/lamina.js');

/** The number after `--name` on the command line, or `def`. */
export function numberArg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(process.argv[i + 1]);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Median wall and CPU (user + sys, the process and its children) time of `runs` runs of
 * `cmd args`, in seconds; CPU time is what a busy host distorts least. `check` sees each
 * run's stdout (and throws when the run did not do what is being measured).
 */
export function timed(cmd, args, { env, runs, check = () => undefined }) {
  const wall = [];
  const cpu = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync('/usr/bin/time', ['-f', '@@ %e %U %S', cmd, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
    const m = /@@ ([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
    if (r.status !== 0 || !m) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    check(r.stdout);
    wall.push(Number(m[1]));
    cpu.push(Number(m[2]) + Number(m[3]));
  }
  return { wall: median(wall), cpu: median(cpu), min: Math.min(...wall), max: Math.max(...wall) };
}
