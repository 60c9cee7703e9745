// The union rules of a container (upper over lower), without FUSE or a host dir:
// the lower side is a MemoryView, the upper side a map of UpperEntry values.
import { describe, expect, it } from 'vitest';
import { FsError } from '../../src/union/errno.js';
import { MemoryView } from '../helpers/memory-view-impl.js';
import {
  childOf, missingUpperParents, planCopyUp, planCreate, planRemove, planRename, UnionResolver, UPPER_INO_BASE,
  type UpperEntry, type UpperSource,
} from '../../src/union/container.js';
import type { Node, NodeType } from '../../src/union/view.js';

let nextIno = 1;
const node = (type: NodeType, o: Partial<Node> = {}): Node => ({
  ino: nextIno++, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, size: 0, mtimeSec: 0, mtimeNsec: 0,
  nlink: type === 'dir' ? 2 : 1, ...o,
});

/** Lower tree from paths: a trailing '/' makes a directory. */
function lowerOf(...paths: string[]): MemoryView {
  const entries = [{ path: '/', node: node('dir', { ino: 1 }) }];
  for (const p of paths) {
    const isDir = p.endsWith('/');
    entries.push({ path: isDir ? p.slice(0, -1) : p, node: node(isDir ? 'dir' : 'file', isDir ? {} : { size: 10, data: { file: '/x', offset: 0 } }) });
  }
  return new MemoryView({ entries });
}

type U = Partial<Omit<UpperEntry, 'node'>> & { type?: NodeType; ino?: number; nlink?: number };
/** Upper layer from a table: path → entry flags. */
class MemUpper implements UpperSource {
  readonly map = new Map<string, UpperEntry>();
  constructor(spec: Record<string, U>) {
    this.map.set('/', { node: node('dir', { ino: UPPER_INO_BASE }), whiteout: false, opaque: false, metacopy: false });
    for (const [p, u] of Object.entries(spec)) {
      const type = u.whiteout ? 'char' : (u.type ?? 'file');
      this.map.set(p, { node: node(type, { ino: u.ino ?? UPPER_INO_BASE + nextIno, nlink: u.nlink }), whiteout: !!u.whiteout,
        opaque: !!u.opaque, metacopy: !!u.metacopy, redirect: u.redirect });
    }
  }
  probe(p: string) {
    return this.map.get(p);
  }
  names(dir: string) {
    return [...this.map.keys()].filter((p) => p !== '/' && p.slice(0, p.lastIndexOf('/')) === (dir === '/' ? '' : dir)).map((p) => p.slice(p.lastIndexOf('/') + 1));
  }
}

const union = (lower: MemoryView, upper: Record<string, U> = {}) => new UnionResolver(lower, new MemUpper(upper));
const errno = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as FsError).message;
  }
  return undefined;
};

describe('container union: lookup and readdir', () => {
  it('lets an upper entry win over the lower one', () => {
    const u = union(lowerOf('/etc/', '/etc/passwd'), { '/etc': { type: 'dir' }, '/etc/passwd': { ino: 4242 } });
    const r = u.resolve('/etc/passwd')!;
    expect(r.upper).toBeDefined();
    expect(r.node.ino).toBe(4242);
    expect(r.lower?.path).toBe('/etc/passwd');
  });

  it('shows lower entries under a directory the upper layer lacks, without probing it', () => {
    const upper = new MemUpper({});
    const probed: string[] = [];
    const u = new UnionResolver(lowerOf('/usr/', '/usr/bin/', '/usr/bin/sh'), { probe: (p) => (probed.push(p), upper.probe(p)), names: (d) => upper.names(d) });
    expect(u.resolve('/usr/bin/sh')?.upper).toBeUndefined();
    expect(probed).toEqual(['/usr']); // only where an upper parent exists
  });

  it.each([
    ['a whiteout hides the lower file', { '/etc': { type: 'dir' }, '/etc/hosts': { whiteout: true } }, '/etc/hosts', false],
    ['a whiteout hides a whole lower dir', { '/usr': { whiteout: true } }, '/usr/bin/sh', false],
    ['an opaque dir hides its lower children', { '/usr': { type: 'dir', opaque: true } }, '/usr/bin', false],
    ['a merged dir keeps its lower children', { '/usr': { type: 'dir' } }, '/usr/bin/sh', true],
  ] as const)('%s', (_t, upper, path, visible) => {
    const u = union(lowerOf('/etc/', '/etc/hosts', '/usr/', '/usr/bin/', '/usr/bin/sh'), upper);
    expect(!!u.resolve(path)).toBe(visible);
  });

  it('lists upper and lower names once, never whiteouts or what they hide', () => {
    const u = union(lowerOf('/d/', '/d/a', '/d/b', '/d/c'), { '/d': { type: 'dir' }, '/d/b': { whiteout: true }, '/d/c': {}, '/d/new': {} });
    expect(u.list('/d')).toEqual(['a', 'c', 'new']);
  });

  it('takes a redirect dir\'s lower children from the redirect path (absolute and relative)', () => {
    const lower = lowerOf('/old/', '/old/f', '/p/', '/p/was/', '/p/was/g');
    const abs = union(lower, { '/old': { whiteout: true }, '/new': { type: 'dir', redirect: '/old' } });
    expect(abs.list('/new')).toEqual(['f']);
    expect(abs.resolve('/new/f')?.lower?.path).toBe('/old/f');
    expect(abs.resolve('/old')).toBeUndefined();
    const rel = union(lower, { '/p': { type: 'dir' }, '/p/was': { whiteout: true }, '/p/now': { type: 'dir', redirect: 'was' } });
    expect(rel.list('/p/now')).toEqual(['g']);
  });

  it('takes a metacopy file\'s data from the lower file at its path, or at its redirect', () => {
    const lower = lowerOf('/bin/', '/bin/sh', '/bin/ls');
    const u = union(lower, { '/bin': { type: 'dir' }, '/bin/sh': { metacopy: true }, '/bin/ls': { whiteout: true }, '/bin/dir': { metacopy: true, redirect: '/bin/ls' } });
    expect(u.resolve('/bin/sh')?.data?.path).toBe('/bin/sh');
    expect(u.resolve('/bin/dir')?.data?.path).toBe('/bin/ls');
  });

  it('reports nlink 1 for merged dirs (as overlayfs does) and the host count for pure upper dirs', () => {
    const u = union(lowerOf('/m/'), { '/m': { type: 'dir', nlink: 5 }, '/n': { type: 'dir', nlink: 3 } });
    expect(u.resolve('/m')!.node.nlink).toBe(1);
    expect(u.resolve('/n')!.node.nlink).toBe(3);
  });
});

describe('container union: plans', () => {
  const lower = lowerOf('/etc/', '/etc/passwd', '/etc/sub/', '/etc/sub/x', '/lnk');

  it.each([
    ['chmod of a lower file copies metadata only', 'meta', { op: 'copy-up', kind: 'meta' }],
    ['a write copies data', 'data', { op: 'copy-up', kind: 'data' }],
    ['O_TRUNC copies no data', 'trunc', { op: 'copy-up', kind: 'empty' }],
  ] as const)('%s', (_t, need, want) => {
    expect(planCopyUp(union(lower).resolve('/etc/passwd')!, need)).toMatchObject(want);
  });

  it('fills a metacopy file in place on the first write, and needs nothing for a full upper file', () => {
    const u = union(lower, { '/etc': { type: 'dir' }, '/etc/passwd': { metacopy: true } });
    expect(planCopyUp(u.resolve('/etc/passwd')!, 'data')).toMatchObject({ op: 'data-up', from: { path: '/etc/passwd' }, truncate: false });
    expect(planCopyUp(u.resolve('/etc/passwd')!, 'meta')).toEqual({ op: 'none' });
    const full = union(lower, { '/etc': { type: 'dir' }, '/etc/passwd': {} });
    expect(planCopyUp(full.resolve('/etc/passwd')!, 'data')).toEqual({ op: 'none' });
  });

  it('lists the parents a copy-up must create first, top down', () => {
    expect(missingUpperParents(union(lower), '/etc/sub/x')).toEqual(['/etc', '/etc/sub']);
    expect(missingUpperParents(union(lower, { '/etc': { type: 'dir' } }), '/etc/sub/x')).toEqual(['/etc/sub']);
  });

  it.each([
    ['a lower file gets a whiteout', {}, '/etc/passwd', false, { removeUpper: false, whiteout: true }],
    ['a copied-up file is removed and whited out', { '/etc': { type: 'dir' }, '/etc/passwd': {} }, '/etc/passwd', false, { removeUpper: true, whiteout: true }],
    ['an upper-only file leaves no whiteout', { '/new': {} }, '/new', false, { removeUpper: true, whiteout: false }],
  ] as const)('unlink: %s', (_t, upper, path, rmdir, want) => {
    const u = union(lower, upper);
    expect(planRemove(u, u.resolve(path)!, rmdir)).toMatchObject(want);
  });

  it('rmdir refuses a dir whose merged view is not empty, and clears whiteouts of an emptied one', () => {
    const u = union(lower, { '/etc': { type: 'dir' }, '/etc/sub': { type: 'dir' }, '/etc/sub/x': { whiteout: true } });
    expect(errno(() => planRemove(u, u.resolve('/etc')!, true))).toBe('ENOTEMPTY');
    expect(planRemove(u, u.resolve('/etc/sub')!, true)).toEqual({ path: '/etc/sub', removeUpper: true, clearWhiteouts: ['/etc/sub/x'], whiteout: true });
    expect(errno(() => planRemove(u, u.resolve('/etc/passwd')!, true))).toBe('ENOTDIR');
    expect(errno(() => planRemove(u, u.resolve('/etc/sub')!, false))).toBe('EISDIR');
  });

  it('creates over a whiteout, and a dir created there is opaque', () => {
    const u = union(lower, { '/etc': { type: 'dir' }, '/etc/sub': { whiteout: true } });
    expect(planCreate(u, '/etc/sub', true)).toEqual({ path: '/etc/sub', replaceWhiteout: true, opaque: true });
    expect(planCreate(u, '/etc/new', true)).toEqual({ path: '/etc/new', replaceWhiteout: false, opaque: false });
    expect(errno(() => planCreate(u, '/etc/passwd', false))).toBe('EEXIST');
    expect(errno(() => planCreate(u, '/nope/x', false))).toBe('ENOENT');
  });

  it('renames a lower file as metacopy + redirect, leaving a whiteout', () => {
    const u = union(lower);
    expect(planRename(u, u.resolve('/etc/passwd')!, '/moved')).toMatchObject({ copyUpSource: true, whiteoutSource: true, redirect: '/etc/passwd', opaque: false });
  });

  it('renames a lower dir with a redirect (redirect_dir=on), keeping the first origin on a second move', () => {
    const u = union(lower);
    expect(planRename(u, u.resolve('/etc/sub')!, '/sub2')).toMatchObject({ copyUpSource: true, whiteoutSource: true, redirect: '/etc/sub' });
    const moved = union(lower, { '/etc': { type: 'dir' }, '/etc/sub': { whiteout: true }, '/sub2': { type: 'dir', redirect: '/etc/sub' } });
    expect(planRename(moved, moved.resolve('/sub2')!, '/sub3')).toMatchObject({ copyUpSource: false, whiteoutSource: false, redirect: '/etc/sub' });
  });

  it('marks a pure upper dir opaque when it lands over a lower dir, and renames upper files plainly', () => {
    const u = union(lowerOf('/d/', '/d/e/', '/d/e/f'), { '/d': { type: 'dir' }, '/d/e': { type: 'dir' }, '/d/e/f': { whiteout: true }, '/n': { type: 'dir' }, '/f': {} });
    expect(planRename(u, u.resolve('/n')!, '/d/e')).toMatchObject({ opaque: true, replace: { clearWhiteouts: ['/d/e/f'] }, whiteoutSource: false });
    expect(planRename(u, u.resolve('/f')!, '/g')).toMatchObject({ copyUpSource: false, whiteoutSource: false, redirect: undefined });
  });

  it.each([
    ['a dir into itself', '/etc', '/etc/sub/in', 'EINVAL'],
    ['a dir over a file', '/etc/sub', '/lnk', 'ENOTDIR'],
    ['a file over a dir', '/lnk', '/etc/sub', 'EISDIR'],
    ['a dir over its own parent', '/etc/sub', '/etc', 'ENOTEMPTY'],
  ] as const)('refuses to rename %s', (_t, from, to, code) => {
    const u = union(lower);
    expect(errno(() => planRename(u, u.resolve(from)!, to))).toBe(code);
  });

  it('refuses to rename over a non-empty directory', () => {
    const u = union(lowerOf('/a/', '/b/', '/b/x'));
    expect(errno(() => planRename(u, u.resolve('/a')!, '/b'))).toBe('ENOTEMPTY');
  });

  it('childOf joins at the root and below', () => {
    expect([childOf('/', 'a'), childOf('/a', 'b')]).toEqual(['/a', '/a/b']);
  });
});
