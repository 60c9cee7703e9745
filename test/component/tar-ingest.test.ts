import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pack, type Header } from 'tar-stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BlobStore } from '../../src/store/blobs.js';
import type { Digest, LayerEntry } from '../../src/store/types.js';
import { ingestLayer, type IngestResult } from '../../src/image/tar/ingest.js';
import { isOpaqueMarker, whitedOutName } from '../../src/image/tar/whiteout.js';

const WHAT = 'layer under test';
const LONG_DIR = `long/${'d'.repeat(90)}`;
const LONG_FILE = `${LONG_DIR}/${'f'.repeat(90)}`;
const LONG_TARGET = `${'t'.repeat(150)}/dangling`;
const NO_DIGEST: Digest = `sha256:${'0'.repeat(64)}`;

let work: string;
let tree: string;
let store: BlobStore;
const fx = (name: string): string => path.join(work, name);
const sh = (cmd: string): string => execFileSync('sh', ['-ec', cmd], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const sha256sum = (name: string): Digest => `sha256:${sh(`sha256sum ${name}`).split(' ')[0]}`;

async function buildTree(): Promise<void> {
  tree = fx('tree');
  for (const d of ['bin', 'tmp', 'etc', 'dev', 'run', 'a/sub', LONG_DIR]) await mkdir(path.join(tree, d), { recursive: true });
  await writeFile(path.join(tree, 'big.bin'), randomBytes(300 * 1024 + 77));
  await writeFile(path.join(tree, 'bin/suid'), 'suid\n');
  await writeFile(path.join(tree, 'etc/hello.txt'), 'hello, layer\n');
  await writeFile(path.join(tree, LONG_FILE), 'deep\n');
  sh(`cd tree
    touch empty a/.wh.b a/sub/.wh..wh..opq
    ln etc/hello.txt etc/hl && ln ${LONG_FILE} ${LONG_DIR}/hardlink
    ln -s /etc/passwd etc/sl && ln -s ${LONG_TARGET} lsl
    mknod dev/null c 1 3 && mknod dev/loop b 7 0 && mkfifo run/fifo
    setfattr -n user.bin -v 0x00ff0a3d80 etc/hello.txt && setfattr -n user.txt -v hello etc/hello.txt
    chown -hR 1000:1000 . && chmod 4755 bin/suid && chmod 1777 tmp
    touch -h -d @1700000000.123456789 etc/hello.txt`);
}

function buildTars(): void {
  const t = 'tar --sort=name -C tree';
  const x = "--xattrs --xattrs-include='user.*'";
  sh(`${t} --format=pax ${x} -cf pax.tar .
    ${t} --format=gnu -cf gnu.tar .
    ${t} --format=ustar --exclude=hardlink -cf ustar.tar long big.bin
    ${t} --format=pax ${x} -cf small.tar etc bin tmp dev run a
    gzip -k pax.tar small.tar && zstd -q -k pax.tar small.tar
    head -c 100000 pax.tar > p1 && tail -c +100001 pax.tar > p2
    gzip -c p1 > multi.tar.gz && gzip -c p2 >> multi.tar.gz
    zstd -q -c p1 > multi.tar.zst && zstd -q -c p2 >> multi.tar.zst`);
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'lamina-tar-ingest-'));
  await buildTree();
  buildTars();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
beforeEach(async () => {
  store = new BlobStore(await mkdtemp(path.join(work, 'store-')));
  await store.init();
});

const ingestFile = (name: string, opts = {}): Promise<IngestResult> =>
  ingestLayer(store, createReadStream(fx(name)), { what: WHAT, ...opts });

async function* chunked(buf: Buffer, n: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += n) yield buf.subarray(i, i + n);
}

const byPath = (r: IngestResult): Map<string, LayerEntry> => new Map(r.entries.map((e) => [e.path, e]));

async function storeContents(): Promise<string[]> {
  return [...(await readdir(store.dir)), ...(await readdir(store.ingestDir))];
}

async function packTar(entries: Array<Partial<Header> & { name: string; body?: string; pax?: Record<string, string> }>): Promise<Buffer> {
  const p = pack();
  for (const { body, ...header } of entries) p.entry({ size: body?.length ?? 0, ...header }, body ?? '');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Edit the header block at `at` and fix its checksum. */
function patchHeader(tar: Buffer, at: number, edit: (h: Buffer) => void): void {
  const h = tar.subarray(at, at + 512);
  edit(h);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

describe('ingestLayer: what it records', () => {
  it('records type, mode, owner, size, ns mtime, xattrs, devices and links of a PAX tar', async () => {
    const e = byPath(await ingestFile('pax.tar'));
    expect(e.get('')).toMatchObject({ type: 'dir', uid: 1000, gid: 1000 });
    expect(e.get('bin/suid')).toMatchObject({ type: 'file', mode: 0o4755, uid: 1000, gid: 1000, size: 5 });
    expect(e.get('tmp')).toMatchObject({ type: 'dir', mode: 0o1777 });
    expect(e.get('etc/hello.txt')).toMatchObject({ type: 'file', size: 13, mtimeSec: 1700000000, mtimeNsec: 123456789 });
    expect(e.get('etc/hello.txt')!.xattrs).toEqual({ 'user.bin': Buffer.from([0x00, 0xff, 0x0a, 0x3d, 0x80]), 'user.txt': Buffer.from('hello') });
    expect(e.get('etc/hl')).toMatchObject({ type: 'link', linkname: 'etc/hello.txt', size: 0 });
    expect(e.get('etc/sl')).toMatchObject({ type: 'symlink', linkname: '/etc/passwd' });
    expect(e.get('lsl')).toMatchObject({ type: 'symlink', linkname: LONG_TARGET });
    expect(e.get('dev/null')).toMatchObject({ type: 'char', devmajor: 1, devminor: 3 });
    expect(e.get('dev/loop')).toMatchObject({ type: 'block', devmajor: 7, devminor: 0 });
    expect(e.get('run/fifo')).toMatchObject({ type: 'fifo', size: 0 });
    expect(e.get(LONG_FILE)).toMatchObject({ type: 'file', size: 5 });
  });

  it('flags whiteouts and opaque markers and keeps their paths as written', async () => {
    const e = byPath(await ingestFile('pax.tar'));
    expect(e.get('a/.wh.b')).toMatchObject({ whiteout: true, opaque: false });
    expect(e.get('a/sub/.wh..wh..opq')).toMatchObject({ whiteout: false, opaque: true });
    expect([...e.values()].filter((x) => x.whiteout || x.opaque).map((x) => x.path).sort()).toEqual(['a/.wh.b', 'a/sub/.wh..wh..opq']);
  });

  it.each(['pax.tar', 'gnu.tar'])('lists exactly the paths `find` sees (%s)', async (name) => {
    const found = sh('cd tree && find .').trim().split('\n').map((p) => (p === '.' ? '' : p.slice(2)));
    expect((await ingestFile(name)).entries.map((x) => x.path).sort()).toEqual(found.sort());
  });

  it('reads GNU long names and long link targets', async () => {
    const e = byPath(await ingestFile('gnu.tar'));
    expect(e.get(LONG_FILE)).toMatchObject({ type: 'file', size: 5, mtimeNsec: 0 });
    expect(e.get(`${LONG_DIR}/hardlink`)).toMatchObject({ type: 'link', linkname: LONG_FILE });
    expect(e.get('lsl')).toMatchObject({ type: 'symlink', linkname: LONG_TARGET });
    expect(e.get('bin/suid')).toMatchObject({ mode: 0o4755, uid: 1000, gid: 1000 });
  });

  it('joins the ustar prefix to the name', async () => {
    const r = await ingestFile('ustar.tar');
    expect(r.entries.map((x) => x.path)).toEqual(['long', LONG_DIR, LONG_FILE, 'big.bin']);
  });

  it.each(['pax.tar', 'gnu.tar', 'ustar.tar', 'pax.tar.gz', 'pax.tar.zst'])('finds each file at offset..offset+size in the stored tar (%s)', async (name) => {
    const r = await ingestFile(name);
    const tar = await readFile(store.pathOf(r.diffId));
    const files = r.entries.filter((x) => x.type === 'file');
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      expect(f.offset % 512, f.path).toBe(0);
      expect(tar.subarray(f.offset, f.offset + f.size).equals(await readFile(path.join(tree, f.path))), f.path).toBe(true);
    }
  });
});

describe('ingestLayer: compression and digests', () => {
  it.each([
    ['pax.tar', 'none'], ['pax.tar.gz', 'gzip'], ['pax.tar.zst', 'zstd'], ['multi.tar.gz', 'gzip'], ['multi.tar.zst', 'zstd'],
  ] as const)('%s: digest and diffId equal sha256sum of the file and of the tar', async (name, compression) => {
    const r = await ingestFile(name);
    const plain = await ingestFile('pax.tar');
    expect(r).toMatchObject({ compression, digest: sha256sum(name), diffId: sha256sum('pax.tar') });
    expect(r.size).toBe((await readFile(fx(name))).length);
    expect(r.uncompressedSize).toBe((await readFile(fx('pax.tar'))).length);
    expect(r.entries).toEqual(plain.entries);
    expect((await readdir(store.dir)).sort()).toEqual([...new Set([r.digest, r.diffId])].map((d) => d.slice(7)).sort());
    expect(await readdir(store.ingestDir)).toEqual([]);
  });

  it.each(['small.tar', 'small.tar.gz', 'small.tar.zst'])('gives identical results for chunks of 1, 321, 512 bytes and whole (%s)', async (name) => {
    const buf = await readFile(fx(name));
    const whole = await ingestLayer(store, chunked(buf, buf.length));
    expect(whole.digest).toBe(sha256sum(name));
    expect(whole.entries.length).toBeGreaterThan(10);
    for (const n of [1, 321, 512]) expect(await ingestLayer(store, chunked(buf, n)), `chunks of ${n}`).toEqual(whole);
  });

  it('hashes and stores data after the end-of-archive blocks but ignores it', async () => {
    sh('cat pax.tar > trailing.tar && head -c 5000 tree/big.bin >> trailing.tar');
    const r = await ingestFile('trailing.tar');
    expect(r.size).toBe((await readFile(fx('pax.tar'))).length + 5000);
    expect(r.digest).toBe(sha256sum('trailing.tar'));
    expect(r.entries).toEqual((await ingestFile('pax.tar')).entries);
  });

  it('accepts a tar that ends at a block boundary without its end-of-archive blocks', async () => {
    const full = await readFile(fx('pax.tar'));
    const last = (await ingestFile('pax.tar')).entries.at(-1)!;
    const cut = full.subarray(0, last.offset + Math.ceil(last.size / 512) * 512);
    const r = await ingestLayer(store, chunked(cut, 4096));
    expect(r.entries.at(-1)).toEqual(last);
    expect(r.uncompressedSize).toBe(cut.length);
  });

  it('ingests an empty archive, and empty input as one', async () => {
    sh('tar -cf empty.tar -T /dev/null && : > zero.tar');
    expect(await ingestFile('empty.tar')).toMatchObject({ entries: [], uncompressedSize: 10240, compression: 'none' });
    expect(await ingestFile('zero.tar')).toMatchObject({ entries: [], size: 0, digest: sha256sum('zero.tar') });
  });

  it('decodes base-256 uid and gid (GNU tar, ids above 2097151)', async () => {
    sh('tar --format=gnu --owner=u:3000000 --group=g:3000001 -C tree -cf bigid.tar etc/hello.txt');
    expect((await ingestFile('bigid.tar')).entries[0]).toMatchObject({ uid: 3000000, gid: 3000001, size: 13 });
  });

  it('decodes a base-256 size field (as written for files over 8 GiB)', async () => {
    const tar = await packTar([{ name: 'f', body: 'hello' }, { name: 'g', body: 'x' }]);
    patchHeader(tar, 0, (h) => {
      h.fill(0, 124, 136);
      h[124] = 0x80;
      h[135] = 5;
    });
    const r = await ingestLayer(store, chunked(tar, tar.length));
    expect(r.entries.map((x) => [x.path, x.size, x.offset])).toEqual([['f', 5, 512], ['g', 1, 1536]]);
  });

  it("reads an old-style '\\0' entry whose name ends in / as a directory", async () => {
    const tar = await packTar([{ name: 'd/', type: 'directory' }, { name: 'd/f', body: 'x' }]);
    patchHeader(tar, 0, (h) => (h[156] = 0));
    expect((await ingestLayer(store, chunked(tar, tar.length))).entries.map((x) => [x.path, x.type])).toEqual([['d', 'dir'], ['d/f', 'file']]);
  });

  it('ignores PAX global headers', async () => {
    sh("tar --format=pax --pax-option='comment=hi,uid=7' -C tree -cf global.tar etc/hello.txt");
    expect(sh('head -c 1024 global.tar | tr -d "\\0"')).toContain('comment=hi');
    expect((await ingestFile('global.tar')).entries).toMatchObject([{ path: 'etc/hello.txt', uid: 1000, size: 13 }]);
  });

  it('stores nothing when the expected digest does not match', async () => {
    for (const name of ['pax.tar', 'pax.tar.gz']) {
      await expect(ingestFile(name, { expectDigest: NO_DIGEST })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', message: expect.stringContaining(`${WHAT}: `) });
      expect(await storeContents(), name).toEqual([]);
    }
  });

  it('stores nothing when the expected diff_id does not match', async () => {
    for (const name of ['pax.tar', 'pax.tar.zst']) {
      await expect(ingestFile(name, { expectDiffId: NO_DIGEST })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
      expect(await storeContents(), name).toEqual([]);
    }
  });

  it('accepts matching expectations', async () => {
    const r = await ingestFile('pax.tar.gz', { expectDigest: sha256sum('pax.tar.gz'), expectDiffId: sha256sum('pax.tar') });
    expect(r.diffId).toBe(sha256sum('pax.tar'));
  });
});

describe('ingestLayer: rejects hostile or broken input and stores nothing', () => {
  const scratchIngest = (name: string): Promise<IngestResult> => ingestLayer(new BlobStore(fx('scratch')), createReadStream(fx(name)));
  const cutAt = async (name: string, n: (r: IngestResult) => number): Promise<Buffer> =>
    (await readFile(fx(name))).subarray(0, n(await scratchIngest(name)));
  beforeAll(async () => {
    await new BlobStore(fx('scratch')).init();
    sh(`truncate -s 1M sparse && echo data >> sparse
      tar --format=gnu --sparse -cf sparse-gnu.tar sparse && tar --format=pax --sparse -cf sparse-pax.tar sparse
      tar --format=gnu -V mylabel -C tree -cf volume.tar empty
      head -c $(( $(stat -c %s pax.tar.gz) / 2 )) pax.tar.gz > truncated.tar.gz
      head -c $(( $(stat -c %s pax.tar.zst) / 2 )) pax.tar.zst > truncated.tar.zst
      mkdir -p up && echo x > up/${'x'.repeat(120)} && tar --format=gnu -P --transform='s,^up,../up,' -cf escape-gnu.tar up/${'x'.repeat(120)}`);
  });

  const cases: Array<[string, () => Promise<Buffer>, RegExp]> = [
    ['a ../ path', () => packTar([{ name: '../x', body: 'x' }]), /entry "\.\.\/x": path escapes the layer root/],
    ['an absolute path', () => packTar([{ name: '/etc/x', body: 'x' }]), /entry "\/etc\/x": path escapes the layer root/],
    ['a .. inside the path', () => packTar([{ name: 'a/../../x' }]), /entry "a\/\.\.\/\.\.\/x": path escapes/],
    ['a PAX path with ..', () => packTar([{ name: 'safe', pax: { path: '../evil' }, body: 'x' }]), /entry "\.\.\/evil": path escapes/],
    ['a GNU long name with ..', () => readFile(fx('escape-gnu.tar')), /entry "\.\.\/up\/x{120}": path escapes/],
    ['an absolute hardlink target', () => packTar([{ name: 'l', type: 'link', linkname: '/etc/passwd' }]), /entry "l": hardlink target "\/etc\/passwd" escapes the layer root/],
    ['a hardlink target with ..', () => packTar([{ name: 'x', body: 'x' }, { name: 'l', type: 'link', linkname: 'a/../../x' }]), /hardlink target "a\/\.\.\/\.\.\/x" escapes/],
    ['a hardlink to a later entry', () => packTar([{ name: 'l', type: 'link', linkname: 'later' }, { name: 'later', body: 'x' }]), /entry "l": hardlink target "later" is not an earlier entry/],
    ['a hardlink to a directory', () => packTar([{ name: 'd', type: 'directory' }, { name: 'l', type: 'link', linkname: 'd' }]), /hardlink target "d" is a directory/],
    ['a root entry that is not a directory', () => packTar([{ name: './', type: 'file', body: 'x' }]), /entry "\.\/": the layer root must be a directory/],
    ['a GNU sparse file', () => readFile(fx('sparse-gnu.tar')), /entry "sparse": unsupported entry type 'S' \(GNU sparse file\)/],
    ['a PAX sparse file', () => readFile(fx('sparse-pax.tar')), /unsupported entry type: GNU sparse file \(PAX\)/],
    ['a volume label', () => readFile(fx('volume.tar')), /entry "mylabel": unsupported entry type 'V' \(GNU volume label\)/],
    ['text that is no tar', async () => Buffer.from('hello world\n'.repeat(100)), /: not a tar archive \(nor gzip or zstd\)$/],
    ['a short text', async () => Buffer.from('hi\n'), /: not a tar archive \(nor gzip or zstd\)$/],
    ['gzip of text', async () => execFileSync('gzip', ['-c'], { input: 'hello world\n'.repeat(100) }), /: not a tar archive inside the gzip stream$/],
    ['zstd of text', async () => execFileSync('zstd', ['-c'], { input: 'hi\n' }), /: not a tar archive inside the zstd stream$/],
    ['a truncated gzip', () => readFile(fx('truncated.tar.gz')), /: gzip: unexpected end of file$/],
    ['a truncated zstd', () => readFile(fx('truncated.tar.zst')), /: zstd: unexpected EOF$/],
    ['a tar cut inside file data', () => cutAt('pax.tar', (r) => byPath(r).get('big.bin')!.offset + 1000), /truncated tar: input ends inside the data of entry "big.bin"/],
    ['a tar cut inside a header', () => cutAt('pax.tar', (r) => r.entries[3]!.offset - 100), /truncated tar: input ends inside a header at offset/],
    ['a tar cut after a PAX header', () => cutAt('pax.tar', (r) => r.entries[3]!.offset - 512), /truncated tar: input ends after an extended header, before its entry/],
    ['a PAX header followed by the end-of-archive', async () => Buffer.concat([await cutAt('pax.tar', (r) => r.entries[3]!.offset - 512), Buffer.alloc(1024)]),
      /extended header without an entry at offset \d+$/],
    ['a root-level whiteout of the root', () => packTar([{ name: 'etc/x', body: 'x' }, { name: '.wh.' }]), /entry "\.wh\.": invalid whiteout: it names no file \(it would hide the layer root\)$/],
    ['a ./-prefixed whiteout of the root', () => packTar([{ name: './.wh.' }]), /entry "\.\/\.wh\.": invalid whiteout: it names no file \(it would hide the layer root\)$/],
    ['a whiteout of nothing in a directory', () => packTar([{ name: 'etc/.wh.' }]), /entry "etc\/\.wh\.": invalid whiteout: it names no file$/],
    ['a whiteout of .', () => packTar([{ name: 'etc/.wh..' }]), /entry "etc\/\.wh\.\.": invalid whiteout: it would hide "\."$/],
    ['a whiteout of ..', () => packTar([{ name: 'etc/.wh...' }]), /entry "etc\/\.wh\.\.\.": invalid whiteout: it would hide "\.\."$/],
    ['a whiteout of the whiteout prefix', () => packTar([{ name: '.wh..wh.' }]), /entry "\.wh\.\.wh\.": invalid whiteout: names starting with "\.wh\.\.wh\." are reserved/],
    ['an AUFS metadata name', () => packTar([{ name: 'a/.wh..wh.plnk', type: 'directory' }]), /entry "a\/\.wh\.\.wh\.plnk": invalid whiteout: names starting with/],
    ['a whiteout of the opaque marker', () => packTar([{ name: 'a/.wh..wh..wh..opq' }]), /invalid whiteout: names starting with "\.wh\.\.wh\." are reserved/],
    ['a whiteout that is a directory', () => packTar([{ name: 'a/.wh.b', type: 'directory' }]), /entry "a\/\.wh\.b": invalid whiteout: a whiteout must be a regular file, not a dir$/],
    ['a whiteout that is a symlink', () => packTar([{ name: '.wh.etc', type: 'symlink', linkname: '/' }]), /invalid whiteout: a whiteout must be a regular file, not a symlink$/],
    ['an opaque marker that is a directory', () => packTar([{ name: 'a/.wh..wh..opq', type: 'directory' }]), /invalid whiteout: a whiteout must be a regular file, not a dir$/],
    ['an entry under a whiteout', () => packTar([{ name: 'a/.wh.b/c', body: 'x' }]), /entry "a\/\.wh\.b\/c": invalid whiteout: "\.wh\.b" has entries under it$/],
    ['a hardlink to a whiteout', () => packTar([{ name: '.wh.x' }, { name: 'y', type: 'link', linkname: '.wh.x' }]), /entry "y": hardlink target "\.wh\.x" is a whiteout$/],
    ['a whiteout hardlinked to a file', () => packTar([{ name: 'x', body: 'x' }, { name: '.wh.y', type: 'link', linkname: 'x' }]), /entry "\.wh\.y": invalid whiteout: a hardlink to "x", which is no whiteout$/],
    ['a corrupt header mid-archive', async () => {
      const tar = await readFile(fx('pax.tar'));
      tar[(await scratchIngest('pax.tar')).entries[4]!.offset - 512 + 3]! ^= 0x55;
      return tar;
    }, /bad tar header checksum at offset \d+$/],
  ];

  it.each(cases)('rejects %s', async (_name, make, want) => {
    const input = await make();
    const err = await ingestLayer(store, chunked(input, 777), { what: WHAT }).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ name: 'ImgError', code: 'INVALID_ARGUMENT' });
    const { message } = err as Error;
    expect(message.startsWith(`${WHAT}: `)).toBe(true);
    expect(message).toMatch(want);
    expect(message).not.toContain('\n');
    expect(await storeContents()).toEqual([]);
  });

  it('passes on an error from the source and stores nothing', async () => {
    const buf = await readFile(fx('pax.tar.gz'));
    async function* failing(): AsyncGenerator<Buffer> {
      yield buf.subarray(0, 70000);
      throw new Error('connection reset');
    }
    await expect(ingestLayer(store, failing(), { what: WHAT })).rejects.toThrow(`${WHAT}: connection reset`);
    expect(await storeContents()).toEqual([]);
  });
});

describe('ingestLayer: whiteouts it accepts', () => {
  it('keeps valid whiteouts, opaque markers (also at the root) and hardlinked whiteouts', async () => {
    const tar = await packTar([
      { name: '.wh..wh..opq' }, { name: '.wh.gone' }, { name: 'a/.wh..wh..opq' }, { name: 'a/.wh.b' },
      { name: 'a/.wh.c', type: 'link', linkname: 'a/.wh.b' }, { name: 'a/.wh..hidden' }, { name: 'gone', body: 'new' },
    ]);
    const r = await ingestLayer(store, chunked(tar, 512), { what: WHAT });
    expect(r.entries.map((e) => [e.path, e.whiteout, e.opaque])).toEqual([
      ['.wh..wh..opq', false, true], ['.wh.gone', true, false], ['a/.wh..wh..opq', false, true], ['a/.wh.b', true, false],
      ['a/.wh.c', true, false], ['a/.wh..hidden', true, false], ['gone', false, false],
    ]);
  });
});

describe('whiteout names', () => {
  it.each([
    ['.wh.foo', 'foo', false], ['.wh..wh..opq', undefined, true], ['foo', undefined, false], ['a.wh.b', undefined, false],
  ] as const)('%s', (base, hidden, opaque) => {
    expect(whitedOutName(base)).toBe(hidden);
    expect(isOpaqueMarker(base)).toBe(opaque);
  });
});
