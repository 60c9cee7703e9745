#!/usr/bin/env node
// Prints the benchmark table from a results directory written by scripts/bench.
// Usage: node bench/report.mjs RESULTS_DIR [--md FILE]
//   RESULTS_DIR/meta.json      machine and settings
//   RESULTS_DIR/results.jsonl  {phase, workload, system, unit, values} per line;
//                              values are seconds per run (unit ms or MB/s) or IOPS per run
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const dir = args[0];
if (!dir) {
  console.error('usage: report.mjs RESULTS_DIR [--md FILE]');
  process.exit(2);
}
const mdAt = args.indexOf('--md');
const mdFile = mdAt >= 0 ? args[mdAt + 1] : undefined;

const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8'));
const rows = readFileSync(path.join(dir, 'results.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
let seconds, loadEnd;
try { seconds = Number(readFileSync(path.join(dir, 'seconds'), 'utf8')); } catch { /* still running */ }
try { loadEnd = readFileSync(path.join(dir, 'loadavg_end'), 'utf8').trim(); } catch { /* still running */ }

const MIB100 = 100 * 2 ** 20;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** The figure shown, and a "time-like" figure where bigger is slower (for ratios). */
function figure(r) {
  const m = median(r.values);
  if (r.unit === 'ms') return { shown: m * 1000, slow: m };
  if (r.unit === 'MB/s') return { shown: (r.bytes ?? MIB100) / 1e6 / m, slow: m };
  return { shown: m, slow: 1 / m }; // IOPS
}
const fmt = (v, unit) => {
  if (v === undefined) return '–';
  if (unit === 'ms') return v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(1)} ms`;
  if (unit === 'MB/s') return `${v.toFixed(0)} MB/s`;
  return v >= 100_000 ? `${(v / 1000).toFixed(0)}k IOPS` : `${(v / 1000).toFixed(1)}k IOPS`;
};
const ratio = (a, b) => (a === undefined || b === undefined ? '–' : `${(a / b).toFixed(2)}×`);

const SYSTEMS = ['lamina', 'overlayfs', 'fuse-overlayfs'];
const table = [];
const seen = new Map();
for (const r of rows) {
  const key = `${r.phase}\u0000${r.workload}`;
  if (!seen.has(key)) {
    seen.set(key, { phase: r.phase, workload: r.workload, unit: r.unit, by: {} });
    table.push(seen.get(key));
  }
  seen.get(key).by[r.system] = figure(r);
}
// held rows first, mount rows first within a phase; otherwise in the order measured
const rank = (t) => (t.phase === 'held' ? 0 : 2) + (/^(image in store|mount again)/.test(t.workload) ? 0 : 1);
table.sort((a, b) => rank(a) - rank(b));
const header = ['workload', 'lamina median', 'overlayfs median', 'fuse-overlayfs median', 'lamina/overlayfs', 'lamina/fuse-overlayfs'];
const lines = table.map((t) => {
  const f = (s) => t.by[s];
  return [
    (t.phase === 'held' ? t.workload : `idle: ${t.workload}`).replaceAll('|', '\\|'),
    ...SYSTEMS.map((s) => fmt(f(s)?.shown, t.unit)),
    ratio(f('lamina')?.slow, f('overlayfs')?.slow),
    ratio(f('lamina')?.slow, f('fuse-overlayfs')?.slow),
  ];
});

const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
const right = (i) => i > 0;
const row = (cells) => `| ${cells.map((c, i) => (right(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
const rule = `|${widths.map((w, i) => (right(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
const out = [row(header), rule, ...lines.map(row)].join('\n');

const notes = [
  `machine: ${meta.cpu}, ${meta.cpus} CPUs, ${meta.mem_gib} GiB, kernel ${meta.kernel}, cpuidle ${meta.cpuidle}; store and extracted layers on ${meta.fs}`,
  `load average at start ${meta.loadavg_start}${loadEnd ? `, at end ${loadEnd}` : ''} (other work on the host shows up as noise)`,
  `tools: node ${meta.node}, fuse-overlayfs ${meta.fuse_overlayfs}, hyperfine ${meta.hyperfine}, ${meta.fio}`,
  `image: ${meta.base} (${meta.base_entries} entries, ${(meta.base_bytes / 2 ** 20).toFixed(0)} MiB tar) + layer 2 (whiteouts, opaque dir, 100 MiB file; ${(meta.layer2_bytes / 2 ** 20).toFixed(0)} MiB tar)`,
  `runs: ${meta.cold_runs} per cold/mount cell, ${meta.warm_runs} per warm cell (after 2 warm-up runs); medians. /dev/cpu_dma_latency held at 0 except rows marked idle.`,
  'ratios: lamina time / peer time (>1 = lamina slower); for MB/s and IOPS rows, peer rate / lamina rate.',
  'cold: sync, drop_caches and a fresh mount of every system before each run.',
  ...(seconds ? [`total benchmark time: ${Math.floor(seconds / 60)} min ${seconds % 60} s`] : []),
];
console.log(`\n${out}\n`);
for (const n of notes) console.log(n);
if (mdFile) writeFileSync(mdFile, `${out}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
