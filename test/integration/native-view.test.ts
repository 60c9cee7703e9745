// The C reader of view files (native/view.c) against the TypeScript codec: the same files load,
// malformed ones are refused with a reason, and a fuzzer run finds no crash.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFsName } from '../../src/store/fs-name.js';
import { mergeLayers } from '../../src/union/merge.js';
import { encodeView } from '../../src/union/view-file-encode.js';
import { H, I } from '../../src/union/view-file-format.js';
import { dir, file, hardlink, layer, opaque, remove, symlink } from '../helpers/layer-fixture.js';
import { tempDir } from '../helpers/lamina.js';

const run = promisify(execFile);
const native = path.resolve('native');
const mountd = path.join(native, 'build', 'lamina-mountd');
const layers = [{ blob: 'blobs/sha256/aa', size: 1 << 20 }, { blob: 'blobs/sha256/bb', size: 1 << 20 }];

/** A few stacks that exercise every section of the format. */
export function sampleViews(): Buffer[] {
  const odd = decodeFsName(Buffer.from([0x6f, 0xff, 0x64]));
  return [
    encodeView(mergeLayers([layer(dir(''))]), layers.slice(0, 1)),
    encodeView(mergeLayers([
      layer(dir('etc'), file('etc/passwd', 'root', { offset: 512, xattrs: { 'user.k': Buffer.from([1, 2]) } }), symlink('l', '/etc/passwd'),
        dir('d'), file('d/a', 'a', { offset: 1024 }), hardlink('d/b', 'd/a'), hardlink('c', 'd/a'), file(odd, 'z', { offset: 0 }),
        { ...file('null'), type: 'char', devmajor: 1, devminor: 3, size: 0 }, { ...file('p'), type: 'fifo', size: 0 }),
      layer(remove('c'), dir('d'), opaque('d'), file('d/n', 'n', { offset: 512 }), dir('x'), dir('x/y'), dir('x/y/z')),
    ]), layers),
  ];
}

async function check(file: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run(mountd, ['--check', '--view', file]);
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('native view reader', () => {
  let work: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir: work, cleanup } = await tempDir()));
  afterAll(async () => cleanup());

  it('loads what the TypeScript encoder writes', async () => {
    for (const [i, v] of sampleViews().entries()) {
      const f = path.join(work, `ok${i}.v1`);
      await writeFile(f, v);
      const r = await check(f);
      expect(r, r.out).toMatchObject({ code: 0 });
      expect(r.out).toMatch(/view .*: \d+ inodes, \d+ dirents, [12] layers/);
    }
  });

  it.each<[string, (b: Buffer) => void, RegExp]>([
    ['a bad magic', (b) => b.write('NOTVIEW!', 0, 'latin1'), /bad magic/],
    ['a newer version', (b) => b.writeUInt32LE(2, H.version), /version 2, expected 1/],
    ['a wrong size', (b) => b.writeBigUInt64LE(BigInt(b.length - 8), H.fileSize), /file size/],
    ['a section past the end', (b) => b.writeBigUInt64LE(1n << 40n, H.direntCount), /out of bounds/],
    ['a socket inode', (b) => b.writeUInt32LE(0o140644, Number(b.readBigUInt64LE(H.inodesOff)) + 80 + I.mode), /has mode 140644/],
    ['unsorted names', (b) => {
      const d = Number(b.readBigUInt64LE(H.direntsOff));
      const n = Number(b.readBigUInt64LE(H.namesOff));
      b[n + b.readUInt32LE(d + 8)] = 0x7e; // the first name of the root now sorts last
    }, /not sorted/],
  ])('refuses %s with a one-line reason and status 3', async (_what, corrupt, msg) => {
    const b = sampleViews()[1]!;
    corrupt(b);
    const f = path.join(work, 'bad.v1');
    await writeFile(f, b);
    const r = await check(f);
    expect(r.code).toBe(3);
    expect(r.out.trim().split('\n')).toHaveLength(1);
    expect(r.out).toMatch(msg);
  });

  const fuzzer = path.join(native, 'build-fuzz', 'fuzz-view');
  it.runIf(existsSync('/usr/bin/clang'))('survives a fuzzing run seeded with real view files (ASan, UBSan)', async () => {
    await run('make', ['-s', '-C', native, 'fuzz']);
    const corpus = path.join(work, 'corpus');
    await mkdir(corpus, { recursive: true });
    for (const [i, v] of sampleViews().entries()) await writeFile(path.join(corpus, `seed${i}`), v);
    const seconds = Number(process.env.LAMINA_FUZZ_SECONDS ?? 20);
    const r = await run(fuzzer, [`-max_total_time=${seconds}`, '-max_len=8192', '-timeout=10', corpus], { maxBuffer: 64 << 20 })
      .catch((err: { stderr: string }) => { throw new Error(`fuzzer found a crash:\n${err.stderr.slice(-4000)}`); });
    expect(r.stderr).toMatch(/Done \d+ runs/);
  }, 120_000);
});
