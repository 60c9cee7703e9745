// Dockerfile word expansion as docker's builder does it (quotes, escapes, ${VAR:-x} and friends).
import { describe, expect, it } from 'vitest';
import { envLookup, expand } from '../../src/image/shell-words.js';

const env = envLookup(['A=1', 'EMPTY=', 'SP=a b', 'PATHY=/usr/local/lib/libx.so.1']);
const words = (s: string, escape = '\\') => expand(s, env, escape).words;
const text = (s: string) => expand(s, env).text;

describe('shell words', () => {
  it.each([
    ['$A ${A} x$A', ['1', '1', 'x1']],
    ['"a b" \'c d\' e\\ f', ['a b', 'c d', 'e f']],
    ['\'$A\' "$A" "\\$A"', ['$A', '1', '$A']],
    ['${NOPE:-def} ${EMPTY:-def} ${EMPTY-def}', ['def', 'def']],
    ['${A:+set} ${NOPE:+set} ${EMPTY+set}', ['set', 'set']],
    ['$SP "$SP"', ['a', 'b', 'a b']],
    ['"" x', ['x']],
    ['${PATHY#*/} ${PATHY##*/} ${PATHY%.*} ${PATHY%%.*}', ['usr/local/lib/libx.so.1', 'libx.so.1', '/usr/local/lib/libx.so', '/usr/local/lib/libx']],
    ['a$ $1', ['a$']],
  ])('%s', (s, want) => expect(words(s)).toEqual(want));

  it('keeps blanks inside one word and takes the escape token from the directive', () => {
    expect(text('a  "b  c" $SP')).toBe('a  b  c a b');
    expect(words('a` b c\\d', '`')).toEqual(['a b', 'c\\d']);
  });

  it.each([
    ['${NOPE:?must be set}', 'NOPE: must be set'],
    ['${EMPTY:?}', 'EMPTY: is not allowed to be empty'],
    ['${NOPE?}', 'NOPE: is not allowed to be unset'],
    ['"open', 'looking for matching double-quote'],
    ["'open", 'looking for matching single-quote'],
    ['${A', "missing '}'"],
    ['${}', 'bad substitution'],
    ['${A:=x}', 'unsupported modifier'],
  ])('rejects %s', (s, message) => expect(() => words(s)).toThrow(message));
});
