// What COPY reads and writes, on real temp directories: sources matched as docker matches them
// (.dockerignore, wildcards), and writes that stay inside the root whatever its symlinks say.
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyInto } from '../../src/build/copy.js';
import { resolveIn } from '../../src/build/rootfs-path.js';
import { RootfsWriter } from '../../src/build/rootfs-write.js';
import { contentDigest, SourceTree } from '../../src/build/sources.js';

let dir: string;
let root: string;
let ctx: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lamina-build-fs-'));
  root = path.join(dir, 'rootfs');
  ctx = path.join(dir, 'ctx');
  await mkdir(root);
  await mkdir(ctx);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const put = async (base: string, rel: string, text = rel) => {
  await mkdir(path.dirname(path.join(base, rel)), { recursive: true });
  await writeFile(path.join(base, rel), text);
};

describe('paths inside a root', () => {
  it('resolves absolute and relative symlinks inside the root, never above it', async () => {
    await mkdir(path.join(root, 'real/sub'), { recursive: true });
    await symlink('/real', path.join(root, 'abs'));
    await symlink('../../../../real', path.join(root, 'climb'));
    await mkdir(path.join(root, 'etc'));
    expect(await resolveIn(root, '/abs/sub/x')).toBe(path.join(root, 'real/sub/x'));
    expect(await resolveIn(root, '/climb/sub')).toBe(path.join(root, 'real/sub'));
    expect(await resolveIn(root, '/../../etc/passwd')).toBe(path.join(root, 'etc/passwd'));
    expect(await resolveIn(root, '/abs', false)).toBe(path.join(root, 'abs'));
  });

  it('gives up on symlink loops', async () => {
    await symlink('/b', path.join(root, 'a'));
    await symlink('/a', path.join(root, 'b'));
    await expect(resolveIn(root, '/a/x')).rejects.toThrow('too many levels of symbolic links');
  });

  it('writes through an image symlink to / into the root, not the host', async () => {
    await symlink('/', path.join(root, 'up'));
    const w = new RootfsWriter(root, { uid: 0, gid: 0 });
    await w.file('/up/tmp/lamina-escape-test', { bytes: Buffer.from('x') }, { uid: 0, gid: 0, mode: 0o600 });
    await w.finish();
    expect(await readFile(path.join(root, 'tmp/lamina-escape-test'), 'utf8')).toBe('x');
    await expect(stat('/tmp/lamina-escape-test')).rejects.toThrow();
  });
});

describe('COPY sources and destinations', () => {
  beforeEach(async () => {
    for (const f of ['a.txt', 'b.txt', 'c.log', 'dir/one', 'dir/deep/two', 'skip/x', 'skip/keep']) await put(ctx, f);
    await writeFile(path.join(ctx, '.dockerignore'), '# comment\n*.log\nskip\n!skip/keep\n');
    await symlink('dir/one', path.join(ctx, 'link'));
  });

  const names = async (src: string) => (await (await SourceTree.context(ctx)).match(src)).map((m) => [m.name, m.entries.map((e) => e.rel)]);

  it('matches paths and wildcards, leaving out what .dockerignore excludes', async () => {
    expect(await names('*.txt')).toEqual([['a.txt', ['']], ['b.txt', ['']]]);
    expect(await names('*.log')).toEqual([]);
    expect(await names('c.log')).toEqual([]);
    expect(await names('skip/*')).toEqual([['skip/keep', ['']]]);
    expect(await names('dir')).toEqual([['dir', ['', 'deep', 'deep/two', 'one']]]);
    expect(await names('d?r/de*')).toEqual([['dir/deep', ['', 'two']]]);
    expect(await names('./dir/../a.txt')).toEqual([['a.txt', ['']]]);
  });

  it("matches wildcards with Go's filepath.Match, one path component at a time", async () => {
    for (const f of ['x!', 'xa', 'xb', 'x*', 'x\\*', 'dir/x1']) await put(ctx, f);
    const matched = async (src: string) => (await names(src)).map(([name]) => name);
    expect(await matched('x[^a]')).toEqual(['x!', 'x*', 'xb']);
    expect(await matched('x[!a]')).toEqual(['x!', 'xa']); // '!' is a character to Go, not a negation
    expect(await matched('[a-b].txt')).toEqual(['a.txt', 'b.txt']);
    expect(await matched('x?')).toEqual(['x!', 'x*', 'xa', 'xb']);
    expect(await matched('[x]\\*')).toEqual(['x*']); // an escaped '*' is a character
    expect(await matched('x\\*')).toEqual(['x\\*']); // and no wildcard left: a plain path, backslash and all (docker's containsWildcards)
    expect(await matched('*')).toEqual(['.dockerignore', 'a.txt', 'b.txt', 'dir', 'link', 'x!', 'x*', 'x\\*', 'xa', 'xb']);
    expect(await matched('*/x?')).toEqual(['dir/x1']);
    expect(await matched('dir[^a]x1')).toEqual([]); // one Go pattern's class could take the '/', a component's cannot
    await expect(names('x[')).rejects.toThrow('syntax error in pattern x[');
    await expect(names('di[^/]/x1')).rejects.toThrow('syntax error in pattern di[^'); // split at '/' first, as BuildKit does
  });

  it('digests content and modes, not times', async () => {
    const tree = await SourceTree.context(ctx);
    const before = await contentDigest(await tree.match('dir'));
    await writeFile(path.join(ctx, 'dir/one'), 'dir/one'); // same bytes, new mtime
    expect(await contentDigest(await tree.match('dir'))).toBe(before);
    await writeFile(path.join(ctx, 'dir/one'), 'changed');
    expect(await contentDigest(await tree.match('dir'))).not.toBe(before);
  });

  it('copies a directory\'s contents, files into a directory or to a name, with owners and modes', async () => {
    const tree = await SourceTree.context(ctx);
    const w = new RootfsWriter(root, { uid: 5, gid: 6 });
    await copyInto(w, { matches: await tree.match('dir'), dest: '/opt/d', chown: { uid: 5, gid: 6 }, keepOwners: false, extract: false });
    await copyInto(w, { matches: [...await tree.match('a.txt'), ...await tree.match('link')], dest: '/many/', chmod: 0o600, keepOwners: false, extract: false });
    await copyInto(w, { matches: await tree.match('b.txt'), dest: '/renamed', keepOwners: false, extract: false });
    const st = async (p: string) => {
      const s = await lstat(path.join(root, p));
      return [s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'link' : 'file', (s.mode & 0o7777).toString(8), s.uid, s.gid];
    };
    expect(await st('opt')).toEqual(['dir', '755', 5, 6]);
    expect(await st('opt/d/deep/two')).toEqual(['file', '644', 5, 6]);
    expect(await st('many/a.txt')).toEqual(['file', '600', 0, 0]);
    expect(await st('many/link')).toEqual(['file', '600', 0, 0]); // a named symlink source is followed
    expect(await readFile(path.join(root, 'renamed'), 'utf8')).toBe('b.txt');
    expect(await readlink(path.join(root, 'opt/d/deep')).catch(() => 'not a link')).toBe('not a link');
  });
});
