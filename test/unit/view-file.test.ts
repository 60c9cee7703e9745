import { describe, expect, it } from 'vitest';
import { decodeFsName, encodeFsName, printableFsName } from '../../src/store/fs-name.js';
import { mergeLayers } from '../../src/union/merge.js';
import { encodeView } from '../../src/union/view-file-encode.js';
import { H, I, INODE_SIZE } from '../../src/union/view-file-format.js';
import { ViewFile, ViewFormatError } from '../../src/union/view-file-read.js';
import { dir, file, hardlink, layer, opaque, remove, symlink } from '../helpers/layer-fixture.js';

describe('file names as bytes', () => {
  it.each([
    ['plain ASCII', Buffer.from('etc/passwd')],
    ['UTF-8', Buffer.from('ünïcødé-日本語 😀')],
    ['latin-1 bytes', Buffer.from([0x63, 0x61, 0x66, 0xe9])],
    ['a lone continuation byte', Buffer.from([0x80])],
    ['an overlong encoding', Buffer.from([0xc0, 0xaf])],
    ['a UTF-16 surrogate in UTF-8', Buffer.from([0xed, 0xa0, 0x80])],
    ['a truncated sequence at the end', Buffer.from([0x61, 0xe2, 0x82])],
    ['the replacement character itself', Buffer.from('a\uFFFDb')],
    ['a real code point in the escape range', Buffer.from(String.fromCodePoint(0x10ff90))],
    ['every byte 1..255', Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1))],
  ])('round-trips %s', (_what, bytes) => {
    const s = decodeFsName(bytes);
    expect(encodeFsName(s)).toEqual(bytes);
    expect(decodeFsName(encodeFsName(s))).toBe(s);
  });

  it('keeps valid UTF-8 as the same string and shows escaped bytes as \\xHH', () => {
    expect(decodeFsName(Buffer.from('ünï'))).toBe('ünï');
    expect(printableFsName(decodeFsName(Buffer.from([0x61, 0xff])))).toBe('a\\xff');
  });
});

const tree = () => mergeLayers([
  layer(dir(''), dir('etc'), file('etc/passwd', 'root:x:0:0', { mtimeSec: 1700000000, mtimeNsec: 123456789, offset: 512 }),
    dir('d'), file('d/a', 'aa', { offset: 1536 }), hardlink('d/b', 'd/a'), file('gone', 'x', { offset: 2560 }),
    { ...file('dev-null'), type: 'char', devmajor: 1, devminor: 3, size: 0 }, symlink('link', '/etc/passwd'),
    file(decodeFsName(Buffer.from([0x6e, 0xe9])), 'z', { offset: 3584, xattrs: { 'user.bin': Buffer.from([0, 1, 255]), 'user.a': Buffer.from('v') } })),
  layer(remove('gone'), dir('d'), opaque('d'), file('d/new', 'n', { offset: 512 })),
]);
const layers = [{ blob: 'blobs/sha256/aa', size: 4096 }, { blob: 'blobs/sha256/bb', size: 1024 }];

describe('view file codec', () => {
  it('encodes the merged tree so that the reader answers like the model', () => {
    const t = tree();
    const v = new ViewFile(encodeView(t, layers), (p) => `/store/${p}`);
    for (const [p, m] of t.entries) {
      const n = v.lookup(`/${p}`)!;
      expect(n, p).toBeDefined();
      expect(n.type).toBe(m.entry.type === 'link' ? 'file' : m.entry.type);
      expect([n.mode, n.uid, n.gid, n.nlink, n.mtimeSec, n.mtimeNsec]).toEqual([m.entry.mode, m.entry.uid, m.entry.gid, m.nlink, m.entry.mtimeSec, m.entry.mtimeNsec]);
      if (m.entry.type === 'dir') expect(v.readdir(`/${p}`)).toEqual([...t.children.get(p)!].sort((a, b) => Buffer.compare(encodeFsName(a), encodeFsName(b))));
    }
    expect(v.lookup('/gone')).toBeUndefined();
    expect(v.lookup('/d/a')).toBeUndefined();
    expect(v.lookup('/d/new')!.data).toEqual({ file: '/store/blobs/sha256/bb', offset: 512 });
    expect(v.lookup('/link')!.linkname).toBe('/etc/passwd');
    expect(v.lookup('/dev-null')).toMatchObject({ type: 'char', devmajor: 1, devminor: 3 });
    const odd = `/${decodeFsName(Buffer.from([0x6e, 0xe9]))}`;
    expect(v.xattrs(odd)).toEqual({ 'user.a': Buffer.from('v'), 'user.bin': Buffer.from([0, 1, 255]) });
    expect(v.stats()).toEqual({ files: t.entries.size, bytes: 10 + 1 + 1 });
  });

  it('gives hard links one inode and lists every name in the link table', () => {
    const v = new ViewFile(encodeView(mergeLayers([layer(dir('x'), file('x/a', 'aa', { offset: 0 }), hardlink('x/b', 'x/a'), hardlink('c', 'x/a'))]), layers));
    const ino = v.resolve('/x/a');
    expect(v.resolve('/x/b')).toBe(ino);
    expect(v.resolve('/c')).toBe(ino);
    expect(v.inode(ino).nlink).toBe(3);
    expect(v.linksOf(ino).map((l) => `${l.parent}/${l.name}`).sort()).toEqual(['1/c', `${v.resolve('/x')}/a`, `${v.resolve('/x')}/b`]);
  });

  it('sorts names by bytes, not by UTF-16 code units', () => {
    const v = new ViewFile(encodeView(mergeLayers([layer(file('\u{1F600}'), file('\uFFFD'), file('a'), file(decodeFsName(Buffer.from([0xff]))))]), layers));
    expect(v.readdir('/')!.map((n) => encodeFsName(n).toString('hex'))).toEqual(['61', 'efbfbd', 'f09f9880', 'ff']);
  });

  it.each<[string, (b: Buffer) => void, RegExp]>([
    ['a bad magic', (b) => b.write('NOTVIEW!', 0, 'latin1'), /bad magic/],
    ['a newer version', (b) => b.writeUInt32LE(2, H.version), /version 2/],
    ['a truncated file', (b) => b.writeBigUInt64LE(BigInt(b.length + 8), H.fileSize), /file size/],
    ['an inode table past the end', (b) => b.writeBigUInt64LE(1n << 40n, H.inodeCount), /out of bounds/],
    ['a file past its layer', (b) => b.writeBigUInt64LE(1n << 30n, Number(b.readBigUInt64LE(H.inodesOff)) + INODE_SIZE * 2 + I.data), /past its layer|dirents out of range/],
    ['a bad mode', (b) => b.writeUInt32LE(0o140644, Number(b.readBigUInt64LE(H.inodesOff)) + INODE_SIZE + I.mode), /mode/],
  ])('refuses %s with a clear reason', (_what, corrupt, msg) => {
    const b = encodeView(tree(), layers);
    corrupt(b);
    expect(() => new ViewFile(b)).toThrow(ViewFormatError);
    expect(() => new ViewFile(b)).toThrow(msg);
  });
});
