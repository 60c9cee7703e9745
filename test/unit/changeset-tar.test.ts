// The deterministic tar headers commit and export write: read back by our ingest parser
// (what indexes a committed layer) and by GNU tar, PAX where ustar has no room.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeHeader, END_OF_ARCHIVE, padding, type TarHeader } from '../../src/image/tar/pack.js';
import { TarParser } from '../../src/image/tar/parser.js';
import { tempDir } from '../helpers/lamina.js';
import { runOk } from '../helpers/proc.js';

const base: Omit<TarHeader, 'name'> = { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtimeSec: 1_700_000_000, mtimeNsec: 0 };

function tarOf(entries: Array<TarHeader & { data?: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    parts.push(encodeHeader({ ...e, size: data.length }), data, padding(data.length));
  }
  return Buffer.concat([...parts, END_OF_ARCHIVE]);
}

function parse(tar: Buffer) {
  const p = new TarParser('not a tar');
  for (let i = 0; i < tar.length; i += 333) p.push(tar.subarray(i, i + 333)); // odd chunks
  p.end();
  return p.entries;
}

let work: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir: work, cleanup } = await tempDir('lamina-pack-')));
afterAll(async () => cleanup());

describe('tar headers (pack.ts)', () => {
  const long = `${'d'.repeat(120)}/${'ü'.repeat(30)}.txt`;
  const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
  const entries: Array<TarHeader & { data?: Buffer }> = [
    { ...base, name: 'dir/', type: 'dir', mode: 0o1777, mtimeNsec: 123_456_789 },
    { ...base, name: 'dir/file', mode: 0o4755, uid: 1000, gid: 3_000_000, data: Buffer.from('hello\n'),
      xattrs: { 'security.capability': cap, 'user.note': Buffer.from('a=b\nc') } },
    { ...base, name: long, data: Buffer.alloc(1000, 7) },
    { ...base, name: 'dir/hard', type: 'link', linkname: 'dir/file' },
    { ...base, name: 'dir/sym', type: 'symlink', mode: 0o777, linkname: `../${'t'.repeat(150)}` },
    { ...base, name: 'dir/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
    { ...base, name: 'dir/fifo', type: 'fifo', mtimeSec: 2 ** 33 },
    { ...base, name: 'dir/.wh..wh..opq', mode: 0o644, mtimeSec: 0 },
  ];
  const tar = tarOf(entries);

  it('round-trips every field through the ingest parser', () => {
    const got = parse(tar);
    expect(got.map((e) => e.path)).toEqual(entries.map((e) => e.name.replace(/\/$/, '')));
    expect(got[0]).toMatchObject({ type: 'dir', mode: 0o1777, mtimeSec: 1_700_000_000, mtimeNsec: 123_456_789 });
    expect(got[1]).toMatchObject({ type: 'file', mode: 0o4755, uid: 1000, gid: 3_000_000, size: 6 });
    expect(got[1]!.xattrs).toEqual({ 'security.capability': cap, 'user.note': Buffer.from('a=b\nc') });
    expect(tar.subarray(got[1]!.offset, got[1]!.offset + 6).toString()).toBe('hello\n');
    expect(got[2]).toMatchObject({ path: long, size: 1000 });
    expect(got[3]).toMatchObject({ type: 'link', linkname: 'dir/file' });
    expect(got[4]).toMatchObject({ type: 'symlink', linkname: `../${'t'.repeat(150)}` });
    expect(got[5]).toMatchObject({ type: 'char', devmajor: 1, devminor: 3 });
    expect(got[6]).toMatchObject({ type: 'fifo', mtimeSec: 2 ** 33 });
    expect(got[7]).toMatchObject({ opaque: true });
  });

  it('is read the same by GNU tar', async () => {
    const file = path.join(work, 'a.tar');
    await writeFile(file, tar);
    const list = (await runOk('tar', ['--numeric-owner', '--full-time', '-tvf', file])).stdout.trim().split('\n');
    expect(list[1]).toMatch(/^-rwsr-xr-x 1000\/3000000\s+6 .* dir\/file$/);
    expect(list[2]).toContain(long);
    expect(list[4]).toMatch(/dir\/sym -> \.\.\/t{150}$/);
    const xattrs = (await runOk('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', file])).stdout;
    expect(xattrs).toMatch(/x: 5 user\.note/);
  });

  it('writes the same bytes for the same entries, with no names or times of its own', () => {
    expect(tarOf(entries).equals(tar)).toBe(true);
    const h = encodeHeader({ ...base, name: 'x' });
    expect(h.length).toBe(512);
    expect(h.subarray(265, 329).every((b) => b === 0)).toBe(true); // uname, gname
  });
});
