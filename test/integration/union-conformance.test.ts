// Random layer stacks (issue 12): a seeded generator writes layer tars with whiteouts,
// opaque dirs, type changes across layers, hardlinks, devices, binary xattrs, ns mtimes
// and odd names; the image goes through `lamina load` into a store and is mounted with
// `lamina mount --read-only`. A python3 child process walks the mount, and every entry
// (type, mode, owner, size, content hash, link target, rdev, xattrs, nlink and hardlink
// groups, mtime in ns) must equal the pure TypeScript model (src/union/merge.ts) — and,
// for some seeds, what `umoci unpack` makes of the same image.
//
// Seeds: LAMINA_RANDFS_SEEDS=1,2,3 overrides the list; LAMINA_RANDFS_NON_UTF8=0 leaves out
// names that are not UTF-8 (the fuse-native mount turned their bytes into U+FFFD).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canMount } from '../helpers/containers.js';
import { umociUnpack } from '../helpers/images.js';
import { randomImage, type RandomImage } from '../helpers/randfs/random-image.js';
import { randomLayerStack, type GenLayer } from '../helpers/randfs/random-layers.js';
import { diffRecords, modelRecords, walkTrees, type FsRecord } from '../helpers/randfs/tree-records.js';

const SEEDS = process.env.LAMINA_RANDFS_SEEDS?.split(',').map(Number) ?? [1, 2, 3, 4, 5, 6];
const UMOCI_SEEDS = new Set(SEEDS.slice(0, 2));
const NON_UTF8 = process.env.LAMINA_RANDFS_NON_UTF8 !== '0';

/** Mounts the image read-only, walks it from a child process, unmounts. */
async function mountedTree(img: RandomImage): Promise<FsRecord[]> {
  const mnt = path.join(img.store.work, 'mnt');
  await img.store.mount(img.store.ref, mnt, true);
  try {
    return (await walkTrees(mnt))[0]!;
  } finally {
    await img.store.umount(mnt);
  }
}

/**
 * umoci makes implicit parent directories with mkdir (so they take "now", and a setgid
 * parent's group and bit) and does not restore a directory's mtime after applying a
 * whiteout below it; neither is a rule of the image spec, so those fields are left out.
 */
const umociIgnores = (r: FsRecord) => (r.implicit ? ['mode', 'uid', 'gid', 'mtime'] as const : r.type === 'dir' ? ['mtime'] as const : []);

function report(seed: number, what: string, diffs: string[]): string {
  return diffs.length ? `seed ${seed}: ${diffs.length} differences ${what}:\n${diffs.slice(0, 40).join('\n')}` : '';
}

describe.runIf(canMount)('random layer stacks through a read-only lamina mount', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: the mount shows exactly what the union model says${UMOCI_SEEDS.has(seed) ? ', and so does umoci unpack' : ''}`, async () => {
      const img = await randomImage(seed, { nonUtf8: NON_UTF8 });
      try {
        const mounted = await mountedTree(img);
        expect(mounted.length).toBe(img.model.length);
        expect(report(seed, 'model vs lamina', diffRecords(img.model, mounted, { labels: ['model', 'lamina'] }))).toBe('');
        if (UMOCI_SEEDS.has(seed)) {
          const rootfs = await umociUnpack(path.join(img.store.work, 'layout'), 'latest', path.join(img.store.work, 'bundle'));
          const unpacked = (await walkTrees(rootfs))[0]!;
          const diffs = diffRecords(img.model, unpacked, { labels: ['model', 'umoci'], ignore: (r) => [...umociIgnores(r)] });
          expect(report(seed, 'model vs umoci unpack', diffs)).toBe('');
        }
      } finally {
        await img.cleanup();
      }
    }, 60_000);
  }

  it('compares what it claims to: one changed byte, mode or hardlink shows up', () => {
    const model = modelRecords(randomLayerStack(SEEDS[0]!));
    const changed = (f: (r: FsRecord) => void) => {
      const copy = structuredClone(model);
      f(copy.find((r) => r.type === 'file' && r.nlink > 1) ?? copy.find((r) => r.type === 'file')!);
      return diffRecords(model, copy).length;
    };
    expect(changed((r) => (r.sha256 = '0'.repeat(64)))).toBe(1);
    expect(changed((r) => (r.mode ^= 0o4000))).toBe(1);
    expect(changed((r) => (r.mtime = r.mtime.replace(/.$/, (d) => String((Number(d) + 1) % 10))))).toBe(1);
    expect(changed((r) => (r.ino = 'elsewhere'))).toBeGreaterThan(0);
  });

  it('the seeds cover every case the generator makes', () => {
    const stacks = SEEDS.map((s) => randomLayerStack(s, { nonUtf8: NON_UTF8 }));
    const count = coverage(stacks);
    for (const [what, n] of Object.entries(count)) expect(n, what).toBeGreaterThan(0);
  });
});

/** How often each kind of case occurs in the stacks (every count must be above zero). */
function coverage(stacks: GenLayer[][]): Record<string, number> {
  const c: Record<string, number> = {
    file: 0, dir: 0, symlink: 0, hardlink: 0, fifo: 0, char: 0, block: 0, whiteout: 0, opaque: 0, xattr: 0, binaryXattr: 0,
    setuidSetgidSticky: 0, nsMtime: 0, preEpoch: 0, after2106: 0, typeChange: 0, deep: 0, longPath: 0, oddName: 0,
    ...(NON_UTF8 && { notUtf8Name: 0 }),
  };
  for (const layers of stacks) {
    const seen = new Map<string, string>();
    for (const l of layers) {
      for (const e of l.entries) {
        const k = e.path.toString('latin1');
        c[e.type === 'link' ? 'hardlink' : e.type]! += 1;
        if (e.xattrs) c.xattr! += 1;
        if (e.xattrs?.some(([, v]) => v.includes(0) || !v.equals(Buffer.from(v.toString('utf8'))))) c.binaryXattr! += 1;
        if (e.mode & 0o7000 && e.type !== 'whiteout' && e.type !== 'opaque') c.setuidSetgidSticky! += 1;
        if (e.mtime[1] !== 0) c.nsMtime! += 1;
        if (e.mtime[0] < 0) c.preEpoch! += 1;
        if (e.mtime[0] >= 2 ** 32) c.after2106! += 1;
        if (k.split('/').length >= 8) c.deep! += 1;
        if (e.path.length > 255) c.longPath! += 1;
        if (/[^\w./-]/.test(k)) c.oddName! += 1;
        if (!e.path.equals(Buffer.from(e.path.toString('utf8')))) c.notUtf8Name = (c.notUtf8Name ?? 0) + 1;
        const type = e.type === 'link' ? 'file' : e.type;
        const before = seen.get(k);
        if (type === 'whiteout' || type === 'opaque') continue;
        if (before && before !== type) c.typeChange! += 1;
        seen.set(k, type);
      }
    }
  }
  return c;
}
