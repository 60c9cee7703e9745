import { describe, expect, it } from 'vitest';
import { ImgError } from '../../src/store/errors.js';
import {
  familiar,
  familiarName,
  formatReference,
  looksLikeIdPrefix,
  normalizeReference,
  parseReference,
  repoName,
} from '../../src/image/reference.js';

const HEX = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);
const DIG = `sha256:${HEX}`;

describe('parseReference: valid', () => {
  it.each([
    ['busybox', 'docker.io', 'library/busybox', undefined, undefined],
    ['busybox:1.36', 'docker.io', 'library/busybox', '1.36', undefined],
    ['library/busybox', 'docker.io', 'library/busybox', undefined, undefined],
    ['docker.io/busybox', 'docker.io', 'library/busybox', undefined, undefined],
    ['index.docker.io/library/busybox', 'docker.io', 'library/busybox', undefined, undefined],
    ['localhost/foo', 'localhost', 'foo', undefined, undefined],
    ['localhost:5000/foo:bar', 'localhost:5000', 'foo', 'bar', undefined],
    ['localhost:5000', 'docker.io', 'library/localhost', '5000', undefined],
    ['127.0.0.1:5000/a/b/c:t', '127.0.0.1:5000', 'a/b/c', 't', undefined],
    [`myregistry.example.com/ns/img@${DIG}`, 'myregistry.example.com', 'ns/img', undefined, DIG],
    [`name:tag@${DIG}`, 'docker.io', 'library/name', 'tag', DIG],
    ['a.b/c', 'a.b', 'c', undefined, undefined],
    ['a/b', 'docker.io', 'a/b', undefined, undefined],
    ['foo_bar', 'docker.io', 'library/foo_bar', undefined, undefined],
    ['foo__bar', 'docker.io', 'library/foo__bar', undefined, undefined],
    ['foo---bar', 'docker.io', 'library/foo---bar', undefined, undefined],
    ['foo.bar', 'docker.io', 'library/foo.bar', undefined, undefined],
    ['Example.COM/foo', 'Example.COM', 'foo', undefined, undefined],
    ['[::1]:5000/foo', '[::1]:5000', 'foo', undefined, undefined],
    ['foo:Latest_1.x-y', 'docker.io', 'library/foo', 'Latest_1.x-y', undefined],
    [`${HEX}:tag`, 'docker.io', `library/${HEX}`, 'tag', undefined],
    [`docker.io/library/${'a'.repeat(237)}`, 'docker.io', `library/${'a'.repeat(237)}`, undefined, undefined],
  ])('%s', (input, registry, repository, tag, digest) => {
    const ref = parseReference(input);
    expect(ref).toEqual({ registry, repository, ...(tag && { tag }), ...(digest && { digest }) });
  });
});

describe('parseReference: invalid', () => {
  it.each([
    ['', 'empty reference'],
    ['Foo', 'must be lowercase'],
    ['foo/Bar:tag', 'must be lowercase'],
    ['foo:', 'empty tag'],
    ['foo:-bad', 'invalid tag'],
    [`foo:${'t'.repeat(129)}`, 'invalid tag'],
    ['foo@', 'missing digest'],
    ['foo@sha256:abc', 'invalid digest'],
    [`foo@sha256:${HEX.toUpperCase()}`, 'invalid digest'],
    [`foo@sha512:${HEX}${HEX}`, 'unsupported digest algorithm'],
    ['foo@nocolon', 'invalid digest format'],
    ['-foo', 'invalid path component'],
    ['foo-', 'invalid path component'],
    ['foo//bar', 'empty path component'],
    ['/foo', 'empty path component'],
    ['foo/', 'empty path component'],
    ['localhost:5000/', 'empty path component'],
    ['foo._bar', 'invalid path component'],
    [':tag', 'empty repository name'],
    [`@${DIG}`, 'empty repository name'],
    ['a'.repeat(256), 'longer than 255'],
    [`docker.io/library/${'a'.repeat(238)}`, 'longer than 255'],
    [HEX, 'cannot specify 64-byte hexadecimal strings'],
    ['foo:bar/baz', 'invalid registry'],
    ['-bad.com/foo', 'invalid registry'],
  ])('%j', (input, reason) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ImgError);
    expect((err as ImgError).code).toBe('INVALID_ARGUMENT');
    expect((err as ImgError).message).toContain(`invalid reference "${input}": `);
    expect((err as ImgError).message).toContain(reason);
  });
});

describe('normalizeReference', () => {
  it.each([
    ['busybox', 'latest', undefined],
    ['busybox:1.36', '1.36', undefined],
    [`busybox@${DIG}`, undefined, DIG],
    [`busybox:x@${DIG}`, 'x', DIG],
  ])('%s', (input, tag, digest) => {
    const ref = normalizeReference(input);
    expect([ref.tag, ref.digest]).toEqual([tag, digest]);
  });
});

describe('names and formatting', () => {
  it.each([
    ['busybox', 'busybox', 'docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['library/a/b', 'library/a/b', 'docker.io/library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest'],
    ['foo/bar:1', 'foo/bar', 'docker.io/foo/bar', 'docker.io/foo/bar:1', 'foo/bar:1'],
    ['localhost:5000/x', 'localhost:5000/x', 'localhost:5000/x', 'localhost:5000/x:latest', 'localhost:5000/x:latest'],
    [`quay.io/a/b@${DIG}`, 'quay.io/a/b', 'quay.io/a/b', `quay.io/a/b@${DIG}`, `quay.io/a/b@${DIG}`],
    [`busybox:t@${DIG}`, 'busybox', 'docker.io/library/busybox', `docker.io/library/busybox:t@${DIG}`, `busybox:t@${DIG}`],
  ])('%s', (input, name, repo, full, short) => {
    const ref = normalizeReference(input);
    expect(familiarName(ref)).toBe(name);
    expect(repoName(ref)).toBe(repo);
    expect(formatReference(ref)).toBe(full);
    expect(formatReference(ref, { familiar: true })).toBe(short);
    expect(familiar(full)).toBe(short);
  });

  it.each(['busybox:latest', 'foo/bar:1', 'localhost:5000/x:y', `[::1]:5000/foo@${DIG}`, `a.b/c:t@${DIG}`])(
    'round-trips %s',
    (input) => {
      const ref = normalizeReference(input);
      expect(normalizeReference(formatReference(ref))).toEqual(ref);
      expect(normalizeReference(formatReference(ref, { familiar: true }))).toEqual(ref);
    },
  );
});

describe('looksLikeIdPrefix', () => {
  it.each([
    ['abcd', true],
    ['abc', false],
    [HEX, true],
    [HEX + 'a', false],
    ['ABCD', false],
    ['abcg', false],
    ['sha256:abcd', true],
    [DIG, true],
    ['sha256:abc', false],
    ['sha512:abcd', false],
    ['busybox', false],
  ])('%s → %s', (input, want) => {
    expect(looksLikeIdPrefix(input)).toBe(want);
  });
});
