/**
 * The random-operation differential test (issue 13): seeded operations run by
 * py/difftest.py, in a child process, on a writable mount of a random image and on a
 * plain directory that starts as the same merged tree. The mount is pluggable: a
 * MountUnderTest mounts the image's layers writable, so lamina's container mount,
 * kernel overlayfs and fuse-overlayfs run the same sequence.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run, runOk } from '../proc.js';
import { materialize, mergedSpec, overlayLayerSpec, rootSpec } from './materialize.js';
import { randomImage, type RandomImage } from './random-image.js';
import type { StackOptions } from './random-layers.js';
import { diffRecords, PY_DIR, walkTrees } from './tree-records.js';

/** Something that can mount a random image's layers writable (a fresh upper layer each time). */
export interface MountUnderTest {
  /** Short name for reports. */
  readonly name: string;
  /** Stat fields not compared: documented deviations of this mount (e.g. 'dirnlink'). */
  readonly ignore?: string[];
  /** Mounts at `dir` (an empty directory); resolves to the function that unmounts it again. */
  mount(img: RandomImage, dir: string): Promise<() => Promise<void>>;
}

/** `lamina create` + `lamina mount`: lamina's container mount (allow_other, default_permissions). */
export const laminaContainer: MountUnderTest = {
  name: 'lamina',
  async mount(img, dir) {
    const id = (await img.store.cliOk(['create', img.store.ref])).trim();
    await img.store.mount(id, dir);
    return () => img.store.umount(dir);
  },
};

/** The image's layers extracted in overlayfs' format (top first), made once per image. */
async function overlayLowers(img: RandomImage): Promise<string[]> {
  const base = path.join(img.store.work, 'lowers');
  const dirs = img.layers.map((_, i) => path.join(base, String(i)));
  if (!existsSync(base)) {
    await mkdir(base);
    await materialize(img.layers.map((_, i) => ({ root: dirs[i]!, entries: overlayLayerSpec(img.layers, i) })), img.store.work);
  }
  return dirs.reverse();
}

/** A fresh upper and work directory; the upper root takes the merged root's metadata, as lamina's does. */
async function freshUpper(img: RandomImage, dir: string): Promise<{ upper: string; work: string }> {
  const base = `${dir}.layers`;
  const upper = path.join(base, 'upper');
  const work = path.join(base, 'work');
  await mkdir(work, { recursive: true });
  await materialize([{ root: upper, entries: rootSpec(img.layers) }], img.store.work);
  return { upper, work };
}

/** Kernel overlayfs over the extracted layers; `options` are added to lowerdir/upperdir/workdir. */
export function kernelOverlay(options = 'redirect_dir=on,metacopy=on,index=on'): MountUnderTest {
  return {
    name: `overlayfs (${options})`,
    // Documentation/filesystems/overlayfs.rst: a merged directory reports st_nlink 1.
    ignore: ['dirnlink'],
    async mount(img, dir) {
      const lowers = await overlayLowers(img);
      const { upper, work } = await freshUpper(img, dir);
      const opts = `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work}${options ? `,${options}` : ''}`;
      await runOk('mount', ['-t', 'overlay', 'overlay', '-o', opts, dir]);
      return async () => void (await runOk('umount', [dir]));
    },
  };
}

/** fuse-overlayfs over the extracted layers, with the mount options lamina uses. */
export const fuseOverlayfs: MountUnderTest = {
  name: 'fuse-overlayfs',
  async mount(img, dir) {
    const lowers = await overlayLowers(img);
    const { upper, work } = await freshUpper(img, dir);
    const opts = `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work},allow_other,default_permissions`;
    await runOk('fuse-overlayfs', ['-o', opts, dir]);
    return async () => {
      const r = await run('umount', [dir]);
      if (r.code !== 0) await runOk('umount', ['-l', dir]);
    };
  },
};

export interface DifftestOptions {
  ops?: number;
  /** Stop at the first differing operation (the must-pass mode). */
  stopAtFirst?: boolean;
  /** Also create names that are not UTF-8. */
  nonUtf8?: boolean;
  /** Write every operation and difference to this file. */
  trace?: string;
  stack?: StackOptions;
}

/** What py/difftest.py reports, plus the comparison of the freshly mounted tree with the oracle. */
export interface DifftestResult {
  target: string;
  seed: number;
  ops: number;
  executed: number;
  userOps: number;
  differingOps: number;
  /** Difference kind → how often. */
  categories: Record<string, number>;
  first: { index: number; op: string; mount: string; oracle: string; diffs: string[]; context: string[] } | null;
  examples: string[];
  treeDiffs: number;
  treeExamples: string[];
  divergedPaths: number;
  /** Directories whose st_nlink was wrong at some point (counted once each, not per operation). */
  dirNlink: number;
  dirNlinkExamples: string[];
  seconds: number;
  /** Differences between the mount and the oracle before any operation. */
  initialDiffs: string[];
}

/** Random images for the differential test: a root everyone may enter, so uid 1000 gets past it. */
const STACK: StackOptions = { layers: 3, size: 40, rootMode: 0o755 };

/** Runs `ops` random operations on `target` and on an oracle directory, for `seed`. */
export async function runDifftest(target: MountUnderTest, seed: number, opts: DifftestOptions = {}): Promise<DifftestResult> {
  const img = await randomImage(seed, { ...STACK, ...opts.stack, nonUtf8: opts.nonUtf8 });
  try {
    const oracle = path.join(img.store.work, 'oracle');
    const mnt = path.join(img.store.work, 'mnt');
    await materialize([{ root: oracle, entries: mergedSpec(img.layers) }], img.store.work);
    await mkdir(mnt);
    const unmount = await target.mount(img, mnt);
    try {
      const [mounted, expected] = await walkTrees(mnt, oracle);
      // directory st_nlink is reported once per directory by the run itself
      const initialDiffs = diffRecords(expected!, mounted!, { labels: ['oracle', 'mount'], ignore: ['dirNlink'] });
      const args = ['-B', `${PY_DIR}difftest.py`, mnt, oracle, '--seed', String(seed), '--ops', String(opts.ops ?? 2000)];
      if (opts.stopAtFirst) args.push('--stop-at-first');
      if (opts.nonUtf8) args.push('--non-utf8');
      for (const f of target.ignore ?? []) args.push('--ignore', f);
      if (opts.trace) args.push('--trace');
      const r = await runOk('python3', args, { timeout: 600_000 });
      if (opts.trace) await writeFile(`${opts.trace}`, r.stderr);
      return { target: target.name, ...JSON.parse(r.stdout), initialDiffs };
    } finally {
      await unmount();
    }
  } finally {
    await img.cleanup();
  }
}

/** A readable report: counts, the first difference with the operations before it, the kinds. */
export function formatDifftest(r: DifftestResult): string {
  const lines = [
    `${r.target}, seed ${r.seed}: ${r.differingOps} of ${r.executed} operations differ (${r.userOps} ran as uid 1000); ` +
      `${r.treeDiffs} tree differences; ${r.initialDiffs.length} before the first operation; ` +
      `${r.dirNlink} directories with a wrong st_nlink; ${r.seconds} s`,
  ];
  if (r.initialDiffs.length) lines.push('before any operation:', ...r.initialDiffs.slice(0, 10).map((d) => `  ${d}`));
  if (r.first) {
    lines.push(`first difference at operation ${r.first.index}: ${r.first.op}`, `  mount: ${r.first.mount}, oracle: ${r.first.oracle}`);
    lines.push(...r.first.diffs.map((d) => `  ${d}`), '  after:', ...r.first.context.map((c) => `    ${c}`));
  }
  const kinds = Object.entries(r.categories);
  if (kinds.length) lines.push('kinds of differences:', ...kinds.slice(0, 40).map(([k, n]) => `  ${String(n).padStart(4)}  ${k}`));
  if (r.dirNlink) lines.push('directories with a wrong st_nlink:', ...r.dirNlinkExamples.map((d) => `  ${d}`));
  if (r.treeExamples.length) lines.push('tree differences:', ...r.treeExamples.slice(0, 15).map((d) => `  ${d}`));
  return lines.join('\n');
}
