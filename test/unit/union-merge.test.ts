import { describe, expect, it } from 'vitest';
import { extractedEntries } from '../../src/union/layer-extract.js';
import { mergeLayers, type LayerInput } from '../../src/union/merge.js';
import { dir, file, hardlink, layer, opaque, remove, symlink } from '../helpers/layer-fixture.js';

// file() keeps its content in `linkname` so tests can see which layer won.
const content = (t: ReturnType<typeof mergeLayers>, p: string) => {
  const e = t.entries.get(p);
  return e ? (e.entry.type === 'file' ? e.entry.linkname : e.entry.type) : undefined;
};
const ls = (t: ReturnType<typeof mergeLayers>, p: string) => t.children.get(p);

describe('mergeLayers: lookup', () => {
  it.each<[string, LayerInput[], string, string | undefined]>([
    ['upper shadows lower', [layer(file('a', 'x')), layer(file('a', 'y'))], 'a', 'y'],
    ['lower shows through', [layer(file('a', 'x')), layer(file('b', 'y'))], 'a', 'x'],
    ['whiteout hides lower file', [layer(file('a', 'x')), layer(remove('a'))], 'a', undefined],
    ['whiteout hides lower dir tree', [layer(dir('d'), file('d/x', '1')), layer(remove('d'))], 'd/x', undefined],
    ['whiteout in same layer does not hide that layer', [layer(file('a', 'x')), layer(remove('a'), file('a', 'z'))], 'a', 'z'],
    ['recreated after whiteout in a later layer', [layer(file('a', 'x')), layer(remove('a')), layer(file('a', 'w'))], 'a', 'w'],
    ['opaque dir hides lower contents', [layer(dir('d'), file('d/x', '1')), layer(dir('d'), opaque('d'))], 'd/x', undefined],
    ['opaque keeps same-layer contents', [layer(dir('d'), file('d/x', '1')), layer(dir('d'), opaque('d'), file('d/y', '2'))], 'd/y', '2'],
    ['opaque hides only that directory', [layer(dir('d'), dir('e'), file('e/x', '1')), layer(dir('d'), opaque('d'))], 'e/x', '1'],
    ['opaque hides nested lower', [layer(dir('d'), dir('d/s'), file('d/s/x', '1')), layer(dir('d'), opaque('d'))], 'd/s', undefined],
    ['file replaced by dir', [layer(file('a', 'x')), layer(dir('a'), file('a/b', 'y'))], 'a/b', 'y'],
    ['dir replaced by file hides children', [layer(dir('a'), file('a/b', 'y')), layer(file('a', 'x'))], 'a/b', undefined],
    ['dir replaced by file then by dir again', [layer(dir('a'), file('a/b', 'y')), layer(file('a', 'x')), layer(dir('a'))], 'a/b', undefined],
    ['dir over dir merges children', [layer(dir('a'), file('a/b', 'y')), layer(dir('a'), file('a/c', 'z'))], 'a/b', 'y'],
    ['symlink is an entry, never followed', [layer(dir('real'), file('real/f', 'x')), layer(symlink('link', 'real'))], 'link/f', undefined],
    ['whiteout of missing name is harmless', [layer(file('a', 'x')), layer(remove('nope'))], 'a', 'x'],
    ['root-level opaque hides everything lower', [layer(file('a', 'x')), layer(opaque(''), file('b', 'y'))], 'a', undefined],
  ])('%s', (_name, layers, path, want) => {
    expect(content(mergeLayers(layers), path)).toBe(want);
  });
});

describe('mergeLayers: readdir', () => {
  it('merges without duplicates or markers, sorted', () => {
    const t = mergeLayers([
      layer(dir('d'), file('d/b', '1'), file('d/a', '1'), file('d/gone', '1')),
      layer(dir('d'), file('d/b', '2'), file('d/c', '2'), remove('d/gone')),
    ]);
    expect(ls(t, 'd')).toEqual(['a', 'b', 'c']);
    expect(ls(t, '')).toEqual(['d']);
  });

  it('creates implicit parents for entries without directory records', () => {
    const t = mergeLayers([layer(file('x/y/z', '1'))]);
    expect(ls(t, '')).toEqual(['x']);
    expect(ls(t, 'x')).toEqual(['y']);
    expect(t.entries.get('x/y')?.entry.type).toBe('dir');
  });

  it('directory nlink is 2 + subdirectories (find relies on it)', () => {
    const t = mergeLayers([layer(dir('d'), dir('d/s1'), dir('d/s2'), file('d/f'))]);
    expect(t.entries.get('d')?.nlink).toBe(4);
    expect(t.entries.get('')?.nlink).toBe(3);
  });
});

describe('mergeLayers: hardlinks and inodes', () => {
  it('hardlinks share one inode and count their links', () => {
    const t = mergeLayers([layer(file('a', 'x'), hardlink('b', 'a'), hardlink('c', 'a'))]);
    const [a, b, c] = ['a', 'b', 'c'].map((p) => t.entries.get(p)!);
    expect(new Set([a.ino, b.ino, c.ino]).size).toBe(1);
    expect([a.nlink, b.nlink, c.nlink]).toEqual([3, 3, 3]);
    expect(b.entry.type).toBe('file');
  });

  it('a whiteout of one name lowers the link count', () => {
    const t = mergeLayers([layer(file('a', 'x'), hardlink('b', 'a')), layer(remove('a'))]);
    expect(t.entries.get('b')?.nlink).toBe(1);
    expect(content(t, 'b')).toBe('x');
  });

  it('a file replaced in an upper layer leaves the lower link group', () => {
    const t = mergeLayers([layer(file('a', 'x'), hardlink('b', 'a')), layer(file('a', 'new'))]);
    expect(t.entries.get('a')?.ino).not.toBe(t.entries.get('b')?.ino);
    expect(t.entries.get('b')?.nlink).toBe(1);
  });

  it('inode numbers are unique, stable, and 1 for the root', () => {
    const mk = () => mergeLayers([layer(dir('d'), file('d/a'), file('b')), layer(file('c'))]);
    const t1 = mk();
    const t2 = mk();
    expect(t1.entries.get('')?.ino).toBe(1);
    const inos = [...t1.entries.values()].map((e) => e.ino);
    expect(new Set(inos).size).toBe(inos.length);
    expect([...t2.entries.values()].map((e) => e.ino)).toEqual(inos);
  });
});

// A tar may name a path twice; extraction in archive order (docker, umoci) decides what stays,
// and the layer index keeps one row per path, so extractedEntries settles it first.
describe('a path named twice in one layer: archive order decides', () => {
  it.each<[string, LayerInput[], string, string | undefined]>([
    ['a later file replaces a directory and what it held', [layer(dir('a'), file('a/b', 'y'), file('a', 'x'))], 'a/b', undefined],
    ['the replacing file stays', [layer(dir('a'), file('a/b', 'y'), file('a', 'x'))], 'a', 'x'],
    ['a later directory replaces a file', [layer(file('a', 'x'), dir('a'), file('a/b', 'y'))], 'a/b', 'y'],
    ['a directory named twice keeps what both held', [layer(dir('a'), file('a/b', 'y'), dir('a'), file('a/c', 'z'))], 'a/b', 'y'],
    ['the later of two files wins', [layer(file('a', 'x'), file('a', 'y'))], 'a', 'y'],
    ['a link keeps the data of a target replaced later', [layer(file('a', 'old'), hardlink('b', 'a'), file('a', 'new'))], 'b', 'old'],
    ['the replacement is not in the group', [layer(file('a', 'old'), hardlink('b', 'a'), file('a', 'new'))], 'a', 'new'],
    ['a link keeps the data of a target whose directory is replaced', [layer(dir('d'), file('d/f', 'x'), hardlink('l', 'd/f'), symlink('d', 'e'))], 'l', 'x'],
    ['a link to a path already replaced links the replacement', [layer(file('a', 'old'), file('a', 'new'), hardlink('b', 'a'))], 'b', 'new'],
  ])('%s', (_name, layers, path, want) => {
    expect(content(mergeLayers(layers), path)).toBe(want);
  });

  it('the other links of a replaced target stay one group with the link that took its place', () => {
    const t = mergeLayers([layer(file('a', 'x'), hardlink('b', 'a'), hardlink('c', 'b'), hardlink('d', 'a'), file('a', 'new'))]);
    const [b, c, d] = ['b', 'c', 'd'].map((p) => t.entries.get(p)!);
    expect(new Set([b.ino, c.ino, d.ino]).size).toBe(1);
    expect([b.nlink, c.nlink, d.nlink]).toEqual([3, 3, 3]);
    expect(t.entries.get('a')?.ino).not.toBe(b.ino);
    expect(extractedEntries([file('a', 'x'), hardlink('b', 'a'), hardlink('c', 'b'), file('a', 'new')]).map((e) => [e.path, e.type, e.linkname]))
      .toEqual([['b', 'file', 'x'], ['c', 'link', 'b'], ['a', 'file', 'new']]);
  });

  it('leaves a tar that names every path once as it is', () => {
    const entries = [dir('a'), file('a/b', 'y'), hardlink('c', 'a/b')];
    expect(extractedEntries(entries)).toBe(entries);
  });
});
