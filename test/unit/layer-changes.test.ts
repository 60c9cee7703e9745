import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { layerChanges, type LayerChange } from '../../src/union/layer-changes.js';
import { mergeLayers, type LayerInput } from '../../src/union/merge.js';
import type { LayerEntry } from '../../src/store/types.js';
import { dir, file, hardlink, layer, opaque, remove, symlink } from '../helpers/layer-fixture.js';

const show = (cs: LayerChange[]) => cs.filter((c) => c.listed).map((c) => `${c.kind} /${c.path}`);

describe('layerChanges: what docker diff would list for each layer', () => {
  it.each<[string, LayerInput[], string[]]>([
    ['a new file and its new parent', [layer(dir('etc')), layer(dir('usr'), file('usr/x'))], ['A /usr', 'A /usr/x']],
    ['a replaced file', [layer(dir('etc'), file('etc/a', '1')), layer(file('etc/a', '2'))], ['C /etc/a']],
    ['a whiteout lists only the top of what it removes',
      [layer(dir('d'), dir('d/s'), file('d/s/x')), layer(remove('d'))], ['D /d']],
    ['a whiteout of a missing name changes nothing', [layer(file('a')), layer(remove('b'))], []],
    ['an opaque directory lists each hidden child',
      [layer(dir('d'), file('d/x'), dir('d/s'), file('d/s/y')), layer(dir('d'), opaque('d'), file('d/new'))],
      ['C /d', 'A /d/new', 'D /d/s', 'D /d/x']],
    ['whiteout and re-creation in one layer is a change',
      [layer(dir('r'), file('r/old')), layer(remove('r'), dir('r'), file('r/new'))], ['C /r', 'A /r/new', 'D /r/old']],
    ['a directory replaced by a file lists only the file', [layer(dir('t'), file('t/in')), layer(file('t'))], ['C /t']],
    ['an entry below a file turns it into an implicit directory', [layer(file('f')), layer(file('f/x'))], ['C /f', 'A /f/x']],
    ['a hardlink is added like a file', [layer(file('a')), layer(file('b'), hardlink('c', 'b'))], ['A /b', 'A /c']],
    ['the root is never listed', [layer(dir('')), layer(dir(''), file('x'))], ['A /x']],
  ])('%s', (_t, layers, want) => {
    expect(show(layerChanges(layers).at(-1)!)).toEqual(want);
  });

  it('records implicit directories, old types of deletions and hidden paths below them', () => {
    const [, top] = layerChanges([layer(dir('d'), symlink('d/l', 'x')), layer(remove('d'), file('n/m/f'))]);
    expect(top).toEqual([
      { layer: 1, path: 'd', kind: 'D', listed: true, type: 'dir', implicit: false },
      { layer: 1, path: 'd/l', kind: 'D', listed: false, type: 'symlink', implicit: false },
      { layer: 1, path: 'n', kind: 'A', listed: true, type: 'dir', implicit: true },
      { layer: 1, path: 'n/m', kind: 'A', listed: true, type: 'dir', implicit: true },
      { layer: 1, path: 'n/m/f', kind: 'A', listed: true, type: 'file', implicit: false },
    ]);
  });
});

// xorshift32, so a failure can be replayed from its seed.
function rng(seed: number) {
  let s = Math.imul(seed, 0x9e3779b1) >>> 0 || 1;
  const next = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
  for (let i = 0; i < 8; i++) next(); // small seeds start with small values
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}

const NAMES = ['a', 'b', 'c'];
function randomPath(r: ReturnType<typeof rng>): string {
  const depth = 1 + Math.floor(r.next() * 3);
  return Array.from({ length: depth }, () => r.pick(NAMES)).join('/');
}

/** Random layers in arbitrary entry order: files, dirs, symlinks, hardlinks, whiteouts, opaque markers. */
function randomStack(seed: number): LayerInput[] {
  const r = rng(seed);
  return Array.from({ length: 1 + Math.floor(r.next() * 5) }, (_, li) => {
    const es: LayerEntry[] = [];
    for (let n = 1 + Math.floor(r.next() * 8); n > 0; n--) {
      const p = randomPath(r);
      const op = r.next();
      const files = es.filter((e) => e.type === 'file' && !e.whiteout && !e.opaque);
      if (op < 0.3) es.push(file(p, `${li}:${p}`));
      else if (op < 0.55) es.push(dir(p));
      else if (op < 0.62) es.push(symlink(p, 'x'));
      else if (op < 0.7 && files.length) es.push(hardlink(p, r.pick(files).path));
      else if (op < 0.88) es.push(remove(p));
      else es.push(opaque(r.next() < 0.2 ? '' : p));
    }
    return layer(...es);
  });
}

/** The changes any correct answer must contain, from two whole merges (before and after the layer). */
function mustChange(below: LayerInput[], upTo: LayerInput[]): Map<string, 'A' | 'C' | 'D'> {
  const t0 = mergeLayers(below).entries;
  const t1 = mergeLayers(upTo).entries;
  const out = new Map<string, 'A' | 'C' | 'D'>();
  for (const p of new Set([...t0.keys(), ...t1.keys()])) {
    const a = t0.get(p);
    const b = t1.get(p);
    if (!a) out.set(p, 'A');
    else if (!b) out.set(p, 'D');
    // (equal, not identical: a hardlink that takes a replaced target's place is a new object in each merge)
    else if (a.layer !== b.layer || (b.layer >= 0 && !isDeepStrictEqual(a.entry, b.entry))) out.set(p, 'C');
  }
  return out;
}

describe('layerChanges agrees with whole merges before and after each layer', () => {
  it.each(Array.from({ length: 400 }, (_, i) => i + 1))('random stack %i', (seed) => {
    const layers = randomStack(seed);
    const got = layerChanges(layers);
    expect(got).toHaveLength(layers.length);
    layers.forEach((_, i) => {
      const after = mergeLayers(layers.slice(0, i + 1)).entries;
      const before = mergeLayers(layers.slice(0, i)).entries;
      const must = mustChange(layers.slice(0, i), layers.slice(0, i + 1));
      const byPath = new Map(got[i]!.map((c) => [c.path, c]));
      for (const [p, kind] of must) expect(byPath.get(p)?.kind, `layer ${i} /${p}`).toBe(kind);
      for (const c of got[i]!) {
        const a = before.get(c.path);
        const b = after.get(c.path);
        // The only change whole merges cannot see: an implicit directory removed and made again.
        if (!must.has(c.path)) expect([c.kind, a?.layer, b?.layer], `layer ${i} /${c.path}`).toEqual(['C', -1, -1]);
        expect(c.type, `type of /${c.path}`).toBe(c.kind === 'D' ? a!.entry.type : b!.entry.type);
        expect(c.implicit, `implicit /${c.path}`).toBe(c.kind !== 'D' && b!.layer === -1);
        const parentIsDir = after.get(c.path.includes('/') ? c.path.slice(0, c.path.lastIndexOf('/')) : '')?.entry.type === 'dir';
        expect(c.listed, `listed /${c.path}`).toBe(c.kind === 'D' ? parentIsDir : c.path !== '');
      }
    });
  });
});
