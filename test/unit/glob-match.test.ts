// Go's path.Match, as docker matches reference filters and COPY/ADD wildcards.
import { describe, expect, it } from 'vitest';
import { globMatch } from '../../src/image/glob-match.js';

describe('globMatch (path.Match)', () => {
  it.each([
    // reference filters
    ['busy*', 'busybox', true],
    ['busy*:*libc', 'busybox:uclibc', true],
    ['busy*:*libc', 'busybox:musl', false],
    ['*/*', 'library/busybox', true],
    ['a.c', 'abc', false],
    ['x+y', 'x+y', true],
    // * and ? never take a '/'
    ['*', 'library/busybox', false],
    ['a*', 'ab/c', false],
    ['a*/b', 'abc/b', true],
    ['a*/b', 'a/c/b', false],
    ['a?b', 'a/b', false],
    ['*', '', true],
    ['a*', 'a', true],
    ['*c', 'abc', true],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
    ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false],
    ['*x', 'xxx', true],
    // classes: ranges, ^ negation; ! is an ordinary character (minimatch's [!x] is not Go's)
    ['ab[c]', 'abc', true],
    ['ab[b-d]', 'abc', true],
    ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false],
    ['ab[^e-g]', 'abc', true],
    ['[^a]bc', 'abc', false],
    ['[!a]bc', 'abc', true],
    ['[!a]bc', '!bc', true],
    ['[!a]bc', 'xbc', false],
    ['a[^x]b', 'a/b', true],
    // escapes, in and out of classes
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['\\[x]', '[x]', true],
    ['a\\?', 'ab', false],
    ['[\\]a]', ']', true],
    ['[\\-]', '-', true],
    ['[x\\-]', '-', true],
    ['[x\\-]', 'y', false],
    ['[\\^]', '^', true],
    // one character is one code point
    ['a?b', 'a☺b', true],
    ['a???b', 'a☺b', false],
    ['a[^a]b', 'a😀b', true],
    ['[a-ζ]*', 'α', true],
    ['*[a-ζ]', 'A', false],
  ])('%s ~ %s is %s', (p, n, want) => expect(globMatch(p, n)).toBe(want));

  it.each(['[]a]', '[-]', '[x-]', '[-x]', '[a-b-c]', '[', '[^', '[^bc', 'a[', '\\', 'a\\', '*[', '[x'])(
    'refuses the malformed pattern %s, whatever the name',
    (p) => {
      for (const name of ['a', 'x', 'zzz', '']) expect(() => globMatch(p, name)).toThrow(`syntax error in pattern ${p}`);
    },
  );
});
