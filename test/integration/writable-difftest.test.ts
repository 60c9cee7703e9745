// Random-operation differential test of the writable layer (issue 13): seeded sequences of
// 2,000 operations (opens with every flag, writes and reads at offsets through held fds,
// truncates, renames incl. RENAME_NOREPLACE/RENAME_EXCHANGE, links, fifos, sockets, devices,
// chmod with setuid/setgid/sticky, chown, utimensat with UTIME_NOW/UTIME_OMIT and ns, user.*
// xattrs, unlink of open files, readdir; some as uid 1000) run by test/helpers/randfs/py/
// difftest.py in a child process on a writable mount of a random image and on a plain
// directory that starts as the same merged tree. Everything a program can observe must be
// the same; see formatDifftest's output for the first difference and the kinds.
//
//   LAMINA_DIFFTEST_SEEDS=1,2,3   seeds (default 1,2,3)
//   LAMINA_DIFFTEST_OPS=2000      operations per seed
//   LAMINA_DIFFTEST_TARGET=lamina|overlayfs|fuse-overlayfs   what the first block runs against
//   LAMINA_DIFFTEST_NON_UTF8=0    no names that are not UTF-8 (in the image and the new names)
import { describe, expect, it } from 'vitest';
import { canMount } from '../helpers/containers.js';
import {
  formatDifftest,
  fuseOverlayfs,
  kernelOverlay,
  laminaContainer,
  runDifftest,
  type DifftestResult,
  type MountUnderTest,
} from '../helpers/randfs/difftest.js';
import { run } from '../helpers/proc.js';

const SEEDS = process.env.LAMINA_DIFFTEST_SEEDS?.split(',').map(Number) ?? [1, 2, 3];
const OPS = Number(process.env.LAMINA_DIFFTEST_OPS ?? 2000);
const NON_UTF8 = process.env.LAMINA_DIFFTEST_NON_UTF8 !== '0';
const TARGETS: Record<string, MountUnderTest> = { lamina: laminaContainer, overlayfs: kernelOverlay(), 'fuse-overlayfs': fuseOverlayfs };
const TARGET = TARGETS[process.env.LAMINA_DIFFTEST_TARGET ?? 'lamina'];
if (!TARGET) throw new Error(`LAMINA_DIFFTEST_TARGET: unknown target (one of ${Object.keys(TARGETS).join(', ')})`);
const hasOverlay = (await run('grep', ['-qw', 'overlay', '/proc/filesystems'])).code === 0;

const total = (r: DifftestResult) => r.differingOps + r.treeDiffs + r.initialDiffs.length + r.dirNlink;

/**
 * Documented or known behaviour of kernel overlayfs that a plain directory does not share,
 * each seen in the runs (native-notes/difftest.md has the details).
 */
const OVERLAYFS_DEVIATIONS: Array<[RegExp, string]> = [
  [/: ctime changed on the mount \(oracle: unchanged\) of /, 'copy-up gives the copied object and its copied parents a new ctime'],
  [/^open.*: mtime changed on the mount \(oracle: unchanged\) of /, 'metacopy=on: the data copy-up on open for write sets mtime'],
  [/^rename.*: mtime changed on the mount \(oracle: unchanged\) of parent2?$/, 'a rename that fails after copying up still touches the parent'],
  [/^p?write: [mc]time unchanged on the mount \(oracle: changed\) of (fd|same inode) \(fifo\)$/, 'writes to a fifo leave its times'],
  [/: EXDEV \(oracle /, 'a rename or link that needs a redirect longer than redirect_max (256 bytes)'],
  [/^unlink.*: ctime unchanged on the mount \(oracle: changed\) of (fd|same inode)/, 'an open file that was not copied up keeps the lower inode\'s ctime after unlink'],
  [/\bnlink( of |: mount | oracle=)/, "a lower hardlink's st_nlink counts the names in its own layer, not the merged names"],
];

/** Differences of any kind (operations, the tree before and after) that no known deviation explains. */
function unexplained(r: DifftestResult, known: Array<[RegExp, string]>): string[] {
  return [...Object.keys(r.categories), ...r.initialDiffs, ...r.treeExamples].filter((d) => !known.some(([re]) => re.test(d)));
}

describe.runIf(canMount)(`random operations on a ${TARGET.name} mount vs a plain directory`, () => {
  // Known failures today (native server, commit 7a13d93; native-notes/difftest.md): directory
  // st_nlink 1, fifo times not updated by writes, `.wh.*` names refused with EINVAL, chown -1 -1
  // leaving ctime, failing operations that still change a ctime, a few nlink/ctime of other
  // hard-link names — 16 to 25 operations of 2,000 per seed. When they are fixed (or listed as
  // deliberate deviations like OVERLAYFS_DEVIATIONS), turn it.fails into it.
  const results = new Map<number, DifftestResult>();
  for (const seed of SEEDS) {
    it(`seed ${seed}: runs ${OPS} operations on both, some as uid 1000`, async () => {
      const r = await runDifftest(TARGET, seed, { ops: OPS, nonUtf8: NON_UTF8 });
      results.set(seed, r);
      console.log(formatDifftest(r));
      expect(r.executed).toBeGreaterThan(OPS * 0.9);
      expect(r.userOps).toBeGreaterThan(OPS * 0.05);
    }, 600_000);
    it.fails(`seed ${seed}: every result, stat and the tree are the same (known failures today)`, () => {
      const r = results.get(seed);
      expect(r, 'the run above did not finish').toBeDefined();
      expect(total(r!), `${r!.target} differs from the oracle`).toBe(0);
    });
  }
});

describe.runIf(canMount && hasOverlay)('the differential test itself, against kernel overlayfs', () => {
  it('finds nothing beyond overlayfs\'s known deviations, and does find those', async () => {
    const r = await runDifftest(kernelOverlay(), SEEDS[0]!, { ops: OPS, nonUtf8: NON_UTF8 });
    console.log(formatDifftest(r));
    expect(r.executed).toBeGreaterThan(OPS * 0.9);
    expect(r.userOps).toBeGreaterThan(OPS * 0.05);
    expect(unexplained(r, OVERLAYFS_DEVIATIONS)).toEqual([]);
    expect(r.differingOps).toBeGreaterThan(0); // copy-up ctimes at least: the comparison is live
  }, 600_000);
});
