// docker's --filter semantics: parsing, labels, and the ps filters (patterns: glob-match.test.ts).
import { describe, expect, it } from 'vitest';
import { filterContainers, type ContainerSummary } from '../../src/container/container-list.js';
import { labelsMatch, parseFilters } from '../../src/image/filters.js';

describe('parseFilters', () => {
  it('groups repeated keys in order and keeps "=" inside values', () => {
    const f = parseFilters(['label=a=b=c', 'reference=x', 'label=d'], ['label', 'reference']);
    expect([...f]).toEqual([['label', ['a=b=c', 'd']], ['reference', ['x']]]);
  });

  it.each([
    ['nokey', /bad format of filter \(expected name=value\): nokey/],
    ['=v', /bad format of filter/],
    ['colour=red', /^invalid filter 'colour'$/],
  ])('rejects %s', (arg, why) => expect(() => parseFilters([arg], ['label'])).toThrow(why));

  it('matches labels by presence or exact value, all of them', () => {
    const f = parseFilters(['label=a', 'label=b=2'], ['label']);
    expect(labelsMatch(f, { a: '', b: '2' })).toBe(true);
    expect(labelsMatch(f, { a: 'x', b: '3' })).toBe(false);
    expect(labelsMatch(f, { b: '2' })).toBe(false);
    expect(labelsMatch(parseFilters([], ['label']), undefined)).toBe(true);
  });
});

describe('filterContainers', () => {
  const c = (id: string, name: string, state: ContainerSummary['state'], extra: Partial<ContainerSummary> = {}): ContainerSummary => ({
    id, names: [name], image: 'img', imageId: `sha256:${id}`, command: '', created: '2024-01-01T00:00:00Z', state, status: state, ...extra,
  });
  const list = [
    c('aaa111', 'web', 'running', { labels: { tier: 'front' } }),
    c('bbb222', 'worker', 'exited', { exitCode: 2 }),
    c('ccc333', 'cron', 'exited', { exitCode: 0, labels: { tier: 'back' } }),
    c('ddd444', 'spare', 'created'),
  ];
  const names = (filters: string[]) => filterContainers(list, parseFilters(filters, ['id', 'name', 'label', 'status', 'exited', 'ancestor']),
    (ref, imageId) => imageId === `sha256:${ref}`).map((x) => x.names[0]);

  it.each([
    [['status=exited'], ['worker', 'cron']],
    [['status=exited', 'status=running'], ['web', 'worker', 'cron']],
    [['exited=2'], ['worker']],
    [['exited=0', 'exited=2'], ['worker', 'cron']],
    [['name=r'], ['worker', 'cron', 'spare']],
    [['name=^w'], ['web', 'worker']],
    [['id=bbb'], ['worker']],
    [['label=tier'], ['web', 'cron']],
    [['label=tier=back', 'status=exited'], ['cron']],
    [['ancestor=ccc333'], ['cron']],
    [['status=running', 'exited=0'], []],
  ])('%j', (filters, want) => expect(names(filters)).toEqual(want));

  it('rejects values docker rejects', () => {
    expect(() => names(['status=sleeping'])).toThrow("Invalid filter 'status=sleeping'");
    expect(() => names(['exited=x'])).toThrow("Invalid filter 'exited=x'");
  });
});
