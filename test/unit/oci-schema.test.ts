// Schema validation (valibot) of configs, manifests and indexes (src/image/oci.ts): what real images
// carry passes unchanged, hostile documents fail with one line naming the field.
import { describe, expect, it } from 'vitest';
import { LIMITS, parseJson, validateConfig, validateIndex, validateManifest } from '../../src/image/oci.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const config = (extra: Record<string, unknown> = {}) => ({
  architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [D('a')] }, ...extra,
});
const manifest = (extra: Record<string, unknown> = {}) => ({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D('c'), size: 10 },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D('1'), size: 100 }], ...extra,
});

/** The one-line error a validator throws for `raw`. */
function failure(fn: (raw: unknown, what: string) => unknown, raw: unknown): string {
  try {
    fn(raw, 'config sha256:x');
  } catch (err) {
    expect(err).toMatchObject({ name: 'ImgError', code: 'INVALID_ARGUMENT' });
    return (err as Error).message;
  }
  throw new Error('validation passed');
}

describe('image configs', () => {
  it("accepts docker's nulls and keeps fields lamina does not know", () => {
    const raw = config({
      config: { Env: null, Cmd: null, Entrypoint: null, Volumes: null, Labels: null, ExposedPorts: null, Healthcheck: { Test: ['CMD', 'true'] }, OnBuild: null },
      container_config: { Hostname: 'x' }, 'moby.buildkit.buildinfo.v1': 'e30=',
    });
    const c = validateConfig(raw, 'config');
    expect(c).toEqual(raw);
    expect(c.config?.Env).toBeNull();
  });

  it('reads a missing or null config section as undefined', () => {
    expect(validateConfig(config(), 'c').config).toBeUndefined();
    expect(validateConfig(config({ config: null }), 'c').config).toBeUndefined();
  });

  it.each([
    ['non-string Env entries', config({ config: { Env: ['A=1', 7] } }), 'config sha256:x: invalid image config: config.Env[1]: expected string, got 7'],
    ['an Env that is a string', config({ config: { Env: 'A=1' } }), 'config sha256:x: invalid image config: config.Env: expected Array, got "A=1"'],
    ['a Cmd with an object', config({ config: { Cmd: [{}] } }), 'config sha256:x: invalid image config: config.Cmd[0]: expected string, got Object'],
    ['a label that is no string', config({ config: { Labels: { a: 1 } } }), 'config sha256:x: invalid image config: config.Labels.a: expected string, got 1'],
    ['a bad diff_id', config({ rootfs: { type: 'layers', diff_ids: ['sha256:abc'] } }), 'config sha256:x: invalid image config: rootfs.diff_ids[0]: expected a digest sha256:<64 hex digits>'],
    ['no rootfs', { architecture: 'amd64', os: 'linux' }, 'config sha256:x: invalid image config: rootfs: missing'],
    ['rootfs of another type', config({ rootfs: { type: 'tar', diff_ids: [] } }), 'config sha256:x: invalid image config: rootfs.type: expected "layers", got "tar"'],
    ['a history entry with a numeric comment', config({ history: [{ comment: 5 }] }), 'config sha256:x: invalid image config: history[0].comment: expected string, got 5'],
    ['an array', [1], 'config sha256:x: invalid image config: architecture: missing'], // valibot takes an array for an object
    ['null', null, 'config sha256:x: invalid image config: expected Object, got null'],
  ])('rejects %s', (_name, raw, want) => expect(failure(validateConfig, raw)).toBe(want));

  it('rejects 300,000 history entries at once, with no stack overflow', () => {
    const raw = config({ history: Array.from({ length: 300_000 }, () => ({ created_by: 'ENV A=1', empty_layer: true })) });
    const t0 = performance.now();
    expect(failure(validateConfig, raw)).toBe(`config sha256:x: invalid image config: history: more than ${LIMITS.history} entries`);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('rejects more diff_ids and Env entries than the limits', () => {
    expect(failure(validateConfig, config({ rootfs: { type: 'layers', diff_ids: Array(LIMITS.layers + 1).fill(D('a')) } })))
      .toBe(`config sha256:x: invalid image config: rootfs.diff_ids: more than ${LIMITS.layers} entries`);
    expect(failure(validateConfig, config({ config: { Env: Array(LIMITS.listItems + 1).fill('A=1') } })))
      .toBe(`config sha256:x: invalid image config: config.Env: more than ${LIMITS.listItems} entries`);
  });
});

describe('manifests and indexes', () => {
  it('accepts a manifest and keeps unknown fields', () => {
    const raw = manifest({ subject: { mediaType: 'x', digest: D('9'), size: 1 }, artifactType: 'y' });
    expect(validateManifest(raw, 'm')).toEqual(raw);
  });

  it.each([
    ['schemaVersion 1', manifest({ schemaVersion: 1 }), 'schemaVersion: expected 2, got 1'],
    ['a layer digest that is no digest', manifest({ layers: [{ mediaType: 'x', digest: '../../etc/passwd', size: 1 }] }), 'layers[0].digest: expected a digest sha256:<64 hex digits>'],
    ['a negative size', manifest({ layers: [{ mediaType: 'x', digest: D('1'), size: -1 }] }), 'layers[0].size: expected a size, not a negative number'],
    ['a fractional size', manifest({ layers: [{ mediaType: 'x', digest: D('1'), size: 1.5 }] }), 'layers[0].size: expected a whole number of bytes'],
    ['no config', manifest({ config: undefined }), 'config: missing'],
    ['too many layers', manifest({ layers: Array(LIMITS.layers + 1).fill({ mediaType: 'x', digest: D('1'), size: 1 }) }), `layers: more than ${LIMITS.layers} entries`],
  ])('rejects a manifest with %s', (_name, raw, want) => {
    expect(failure(validateManifest, raw)).toBe(`config sha256:x: invalid manifest: ${want}`);
  });

  it('accepts index entries with digests of other algorithms, and rejects non-digests', () => {
    const entry = (digest: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1, platform: { os: 'linux', architecture: 'arm64' } });
    expect(validateIndex({ schemaVersion: 2, manifests: [entry(D('1')), entry(`sha512:${'f'.repeat(128)}`)] }, 'i').manifests).toHaveLength(2);
    expect(failure(validateIndex, { schemaVersion: 2, manifests: [entry('nope')] })).toBe('config sha256:x: invalid image index: manifests[0].digest: expected a digest algorithm:encoded');
    expect(failure(validateIndex, { schemaVersion: 2 })).toBe('config sha256:x: invalid image index: manifests: missing');
  });
});

describe('parseJson', () => {
  it('refuses documents nested deeper than the limit, before parsing them', () => {
    const deep = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(() => parseJson(deep, 'config x')).toThrow(`config x: invalid JSON: nested more than ${LIMITS.jsonDepth} levels deep`);
  });

  it('counts no brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: `\\"${'['.repeat(1000)}`, t: ['x'] });
    expect(parseJson(text, 'x')).toEqual(JSON.parse(text));
  });

  it('names the document in syntax errors', () => {
    expect(() => parseJson('{"a":', 'manifest m')).toThrow(/^manifest m: invalid JSON: /);
  });
});
