// find(1) patterns compiled for SQLite's GLOB and for JavaScript, checked against GNU find's
// own -name on real files, and against SQLite on the same names.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileGlob, prefixBounds } from '../../src/store/path-sql.js';
import { tempDir } from '../helpers/lamina.js';
import { runOk } from '../helpers/proc.js';

/**
 * lamina matches characters (`?` is one character, as in a UTF-8 locale). GNU find's answer
 * for non-ASCII names depends on the locale (even in C.UTF-8 its `??` matches 'ü', two
 * bytes), so those names are compared with find only in ASCII-only patterns below.
 */
const ascii = (s: string) => /^[\x00-\x7f]*$/.test(s);
const NAMES = ['a', 'ab', 'abc', '.hidden', 'x.conf', 'x.conf.bak', 'lib1.so', 'libz.so', 'a*b', 'a?b', 'a[b', 'a]b', 'a-b',
  'a^b', 'a\\b', 'ünï', 'ü', 'A1', 'z9', '[x]', 'tab\there', 'space here', '-dash', 'a!b'];
const PATTERNS = ['*', 'a*', '*.conf', '*.conf*', '?', '??', 'a?', '[ab]*', '[!a]*', '[^a]*', '[a-c]?', '[]]*', 'a[]]b',
  '*[!a-z]*', '[[:digit:]]*', '*[[:upper:]][[:digit:]]', 'a\\*b', 'a\\?b', 'a[*]b', 'a\\[b', 'a[b', '[a-]*', '[-a]*', 'a[\\]]b',
  '*[^]', '[z-a]*', '.*', '?*', '*ü*', '[ü]', 'a[!-]b', 'a[\\^]b', '[!]]*', 'a\\\\b', '*\\', '[[:alpha:]][!.]*'];

describe('compileGlob', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const db = new Database(':memory:');

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lamina-glob-'));
    for (const n of NAMES) await writeFile(path.join(dir, n), '');
  });
  afterAll(async () => cleanup?.());

  it.each(PATTERNS)('%s matches what GNU find -name matches', async (pattern) => {
    const out = await runOk('find', ['.', '-mindepth', '1', '-name', pattern, '-printf', '%f\\0'], { cwd: dir });
    const names = ascii(pattern) ? NAMES.filter(ascii) : NAMES;
    const want = out.stdout.split('\0').filter((n) => n && names.includes(n)).sort();
    const g = compileGlob(pattern);
    expect(names.filter((n) => g.regex.test(n)).sort(), 'regex').toEqual(want);
    const viaSql = names.filter((n) => db.prepare('SELECT ? GLOB ?').pluck().get(n, g.sqlite) === 1);
    if (g.exact) expect(viaSql.sort(), `GLOB ${g.sqlite}`).toEqual(want);
    else expect(want.every((n) => viaSql.includes(n)), `GLOB ${g.sqlite} keeps every match`).toBe(true);
  });

  it('matches characters, not bytes, in JavaScript and in SQLite alike', () => {
    for (const [pattern, name, want] of [['?', 'ü', true], ['??', 'ü', false], ['[ü]?', 'ünï', false], ['*ï', 'ünï', true]] as const) {
      const g = compileGlob(pattern);
      expect([g.regex.test(name), db.prepare('SELECT ? GLOB ?').pluck().get(name, g.sqlite) === 1], `${pattern} ${name}`).toEqual([want, want]);
    }
  });

  it('says which patterns SQLite matches exactly and what every match starts with', () => {
    expect(compileGlob('a\\*b')).toMatchObject({ sqlite: 'a[*]b', exact: true, prefix: 'a*b' });
    expect(compileGlob('[!a]*')).toMatchObject({ sqlite: '[^a]*', exact: true, prefix: '' });
    expect(compileGlob('x[[:digit:]]')).toMatchObject({ sqlite: 'x?', exact: false, prefix: 'x' });
  });

  it('prefixBounds selects exactly the keys with a prefix', () => {
    const keys = ['usr', 'usr/lib', 'usr/lib/x', 'usr/lib0', 'usr/lia', 'usr/li', 'usr/lib/ü', 'usr/libü'];
    const [lo, hi] = prefixBounds('usr/lib/')!;
    const got = keys.filter((k) => db.prepare('SELECT ? >= ? AND ? < ?').pluck().get(k, lo, k, hi) === 1);
    expect(got.sort()).toEqual(['usr/lib/x', 'usr/lib/ü']);
    expect(prefixBounds('')).toBeUndefined();
  });
});
