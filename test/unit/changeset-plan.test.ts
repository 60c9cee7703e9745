// The changeset a writable layer becomes (commit): which members, in which order, from
// where; without a host dir: the lower side is a MemoryView, the upper side a table.
import { describe, expect, it } from 'vitest';
import { MemoryView } from '../helpers/memory-view-impl.js';
import { UnionResolver, UPPER_INO_BASE, type UpperEntry, type UpperSource } from '../../src/union/container.js';
import { memberName, planChangeset, type ChangeItem } from '../../src/container/upper/changeset.js';
import type { Node, NodeType } from '../../src/union/view.js';

let nextIno = 1;
const node = (type: NodeType, o: Partial<Node> = {}): Node => ({
  ino: nextIno++, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, size: 0, mtimeSec: 0, mtimeNsec: 0,
  nlink: type === 'dir' ? 2 : 1, ...o,
});

/** Lower tree from paths: a trailing '/' makes a directory. The root has ino 1. */
function lowerOf(...paths: string[]): MemoryView {
  const entries = [{ path: '/', node: node('dir', { ino: 1 }) }];
  for (const p of paths) {
    const isDir = p.endsWith('/');
    entries.push({ path: isDir ? p.slice(0, -1) : p, node: node(isDir ? 'dir' : 'file', isDir ? {} : { size: 10, data: { file: `/tar${p}`, offset: 0 } }) });
  }
  return new MemoryView({ entries });
}

type U = Partial<Omit<UpperEntry, 'node'>> & { type?: NodeType; node?: Partial<Node> };

/** Upper layer from a table: path → entry flags; the root is initialized (ino 1, as the lower root). */
class MemUpper implements UpperSource {
  readonly map = new Map<string, UpperEntry>();
  readonly probed: string[] = [];
  constructor(spec: Record<string, U>, root: Partial<Node> = { ino: 1 }) {
    this.map.set('/', { node: node('dir', root), whiteout: false, opaque: false, metacopy: false });
    for (const [p, u] of Object.entries(spec)) {
      const type = u.whiteout ? 'char' : (u.type ?? 'file');
      this.map.set(p, { node: node(type, { ino: UPPER_INO_BASE + nextIno, ...u.node }), whiteout: !!u.whiteout,
        opaque: !!u.opaque, metacopy: !!u.metacopy, redirect: u.redirect });
    }
  }
  probe(p: string) {
    this.probed.push(p);
    return this.map.get(p);
  }
  names(dir: string) {
    return [...this.map.keys()].filter((p) => p !== '/' && p.slice(0, p.lastIndexOf('/')) === (dir === '/' ? '' : dir))
      .map((p) => p.slice(p.lastIndexOf('/') + 1));
  }
}

const plan = (lower: MemoryView, upper: UpperSource): ChangeItem[] => [...planChangeset(new UnionResolver(lower, upper))];
/** Member names with the item's source: `name` (upper), `name <- /lower/path` (lower). */
const members = (items: ChangeItem[]): string[] =>
  items.map((i) => (i.kind === 'lower' ? `${memberName(i)} <- ${i.from}` : memberName(i)));
const planOf = (lower: MemoryView, spec: Record<string, U>) => members(plan(lower, new MemUpper(spec)));

describe('changeset plan', () => {
  it('is empty for an untouched upper layer', () => {
    expect(planOf(lowerOf('/etc/', '/etc/passwd'), {})).toEqual([]);
  });

  it('writes changed and new entries under their copied-up parents, sorted by member name', () => {
    expect(planOf(lowerOf('/etc/', '/etc/passwd', '/etc/group'), {
      '/etc': { type: 'dir' }, '/etc/passwd': {}, '/etc/zz': {}, '/etc/a.d': { type: 'dir' }, '/etc/a.d/x': {}, '/b': { type: 'symlink' },
    })).toEqual(['b', 'etc/', 'etc/a.d/', 'etc/a.d/x', 'etc/passwd', 'etc/zz']);
  });

  it('maps whiteouts over lower entries to .wh.NAME in name order, and drops stale ones', () => {
    expect(planOf(lowerOf('/d/', '/d/a', '/d/m', '/d/z', '/gone/', '/gone/f'), {
      '/d': { type: 'dir' }, '/d/m': { whiteout: true }, '/d/b': {}, '/d/never': { whiteout: true }, '/gone': { whiteout: true },
    })).toEqual(['.wh.gone', 'd/', 'd/.wh.m', 'd/b']);
  });

  it('writes an opaque directory with its marker right after it, then only its upper contents', () => {
    const items = plan(lowerOf('/d/', '/d/old', '/d/sub/', '/d/sub/f'), new MemUpper({
      '/d': { type: 'dir', opaque: true }, '/d/new': {}, '/d/sub': { type: 'dir' }, '/d/!first': {},
    }));
    expect(members(items)).toEqual(['d/', 'd/.wh..wh..opq', 'd/!first', 'd/new', 'd/sub/']);
    expect(items.map((i) => i.kind)).toEqual(['upper', 'opaque', 'upper', 'upper', 'upper']);
  });

  it('needs no opaque marker for a directory that replaces a lower file', () => {
    expect(planOf(lowerOf('/x'), { '/x': { type: 'dir', opaque: true }, '/x/f': {} })).toEqual(['x/', 'x/f']);
  });

  it('writes a moved lower directory as a whiteout of the old path plus its full contents at the new one', () => {
    const lower = lowerOf('/old/', '/old/a', '/old/gone', '/old/sub/', '/old/sub/deep', '/other');
    expect(planOf(lower, {
      '/old': { whiteout: true }, '/new': { type: 'dir', redirect: '/old' }, '/new/added': {}, '/new/gone': { whiteout: true },
      '/new/sub': { type: 'dir' }, '/new/sub/more': {},
    })).toEqual(['.wh.old', 'new/', 'new/a <- /old/a', 'new/added', 'new/sub/', 'new/sub/deep <- /old/sub/deep', 'new/sub/more']);
  });

  it('makes a moved directory opaque where the image has a directory at the new path', () => {
    const lower = lowerOf('/a/', '/a/f', '/b/', '/b/stale');
    expect(planOf(lower, { '/a': { whiteout: true }, '/b': { type: 'dir', redirect: '/a' } }))
      .toEqual(['.wh.a', 'b/', 'b/.wh..wh..opq', 'b/f <- /a/f']);
  });

  it('keeps no whiteout for a moved directory whose old path was recreated', () => {
    const lower = lowerOf('/a/', '/a/f');
    expect(planOf(lower, { '/a': { type: 'dir', opaque: true }, '/a/n': {}, '/b': { type: 'dir', redirect: '/a' } }))
      .toEqual(['a/', 'a/.wh..wh..opq', 'a/n', 'b/', 'b/f <- /a/f']);
  });

  it('writes a directory moved into a new directory in full (relative redirects too)', () => {
    const lower = lowerOf('/p/', '/p/d/', '/p/d/f');
    expect(planOf(lower, {
      '/p': { type: 'dir' }, '/p/d': { whiteout: true }, '/p/e': { type: 'dir', redirect: 'd' },
    })).toEqual(['p/', 'p/.wh.d', 'p/e/', 'p/e/f <- /p/d/f']);
  });

  it('takes a metacopy file\'s bytes from its lower file, through a redirect when it moved', () => {
    const lower = lowerOf('/m/', '/m/data', '/m/moved');
    const items = plan(lower, new MemUpper({
      '/m': { type: 'dir' }, '/m/data': { metacopy: true, node: { mode: 0o600, size: 10 } },
      '/m/moved': { whiteout: true }, '/m/there': { metacopy: true, redirect: '/m/moved', node: { size: 10 } },
    }));
    const data = (p: string) => items.find((i) => i.path === p && i.kind === 'upper') as Extract<ChangeItem, { kind: 'upper' }>;
    expect(data('/m/data').node.mode).toBe(0o600);
    expect(data('/m/data').data?.data?.file).toBe('/tar/m/data');
    expect(data('/m/there').data?.data?.file).toBe('/tar/m/moved');
    expect(members(items)).toEqual(['m/', 'm/.wh.moved', 'm/data', 'm/there']);
  });

  it('probes only the upper layer, never lower-only directories', () => {
    const upper = new MemUpper({ '/new': { type: 'dir' }, '/new/f': {} });
    const lower = lowerOf('/usr/', '/usr/bin/', '/usr/bin/sh');
    const walked: string[] = [];
    const spy = Object.assign(Object.create(lower), { readdir: (p: string) => (walked.push(p), lower.readdir(p)) });
    expect(members(plan(spy, upper))).toEqual(['new/', 'new/f']);
    expect(walked).toEqual([]);
    expect(upper.probed.filter((p) => p.startsWith('/usr'))).toEqual([]);
  });

  it('writes the root only once initialized and changed', () => {
    const lower = lowerOf('/f');
    expect(members(plan(lower, new MemUpper({}, { ino: 77, mtimeSec: 5 })))).toEqual([]); // never mounted: not part of the view
    expect(members(plan(lower, new MemUpper({}, { ino: 1 })))).toEqual([]);
    const items = plan(lower, new MemUpper({ '/n': {} }, { ino: 1, mtimeSec: 1_700_000_000 }));
    expect(members(items)).toEqual(['./', 'n']);
    expect([...planChangeset(new UnionResolver(lower, new MemUpper({}, { ino: 1 })), { rootXattrsChanged: true })].map(memberName)).toEqual(['./']);
  });

  it('refuses upper names that would read as whiteouts', () => {
    expect(() => planOf(lowerOf(), { '/.wh.x': {} })).toThrow(/names starting with "\.wh\." are whiteouts/);
  });
});
