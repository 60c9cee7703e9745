// commit -c: Dockerfile instructions applied to the parent's container config, and the child config.
import { describe, expect, it } from 'vitest';
import { applyChanges } from '../../src/image/config-changes.js';
import { childConfig } from '../../src/image/commit.js';
import type { ImageConfig } from '../../src/image/oci.js';

const parent = { Env: ['PATH=/bin', 'A=1'], Cmd: ['/bin/sh'], WorkingDir: '/srv', Labels: { keep: 'yes' } };

describe('commit --change', () => {
  it.each([
    ['CMD ["/app","--flag"]', { Cmd: ['/app', '--flag'] }],
    ['CMD echo "$A" hi', { Cmd: ['/bin/sh', '-c', 'echo "$A" hi'] }],
    ['cmd [not json', { Cmd: ['/bin/sh', '-c', '[not json'] }],
    ['ENTRYPOINT ["/init"]', { Entrypoint: ['/init'], Cmd: null }],
    ['ENV B=two C="with space" D=$A${A}x', { Env: ['PATH=/bin', 'A=1', 'B=two', 'C=with space', 'D=11x'] }],
    ['ENV A replaced  value', { Env: ['PATH=/bin', 'A=replaced  value'] }],
    ["LABEL a=1 b='$A' c=\"$A\"", { Labels: { keep: 'yes', a: '1', b: '$A', c: '1' } }],
    ['ENTRYPOINT', { Entrypoint: null, Cmd: null }],
    ['ENTRYPOINT []', { Entrypoint: null, Cmd: null }],
    ['EXPOSE 80 53/udp 8000-8001', { ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} } }],
    ['WORKDIR sub/../app', { WorkingDir: '/srv/app' }],
    ['WORKDIR /abs//x/', { WorkingDir: '/abs/x' }],
    ['USER 1000:1000', { User: '1000:1000' }],
    ['VOLUME ["/data", "/logs"]', { Volumes: { '/data': {}, '/logs': {} } }],
    ['STOPSIGNAL SIGINT', { StopSignal: 'SIGINT' }],
    ['ONBUILD run echo "$A" hi', { OnBuild: ['RUN echo "$A" hi'] }],
    ['HEALTHCHECK --interval=5s --retries=2 CMD ["/check"]', { Healthcheck: { Test: ['CMD', '/check'], Interval: 5e9, Retries: 2 } }],
    ['HEALTHCHECK NONE', { Healthcheck: { Test: ['NONE'] } }],
  ])('%s', (change, want) => {
    expect(applyChanges(parent, [change])).toEqual({ ...parent, ...want });
  });

  it('keeps a CMD given before ENTRYPOINT, as a Dockerfile does, and applies changes in order', () => {
    expect(applyChanges(parent, ['CMD ["x"]', 'ENTRYPOINT ["/e"]'])).toMatchObject({ Cmd: ['x'], Entrypoint: ['/e'] });
    expect(applyChanges(parent, ['ENTRYPOINT ["/e"]', 'CMD ["x"]'])).toMatchObject({ Cmd: ['x'], Entrypoint: ['/e'] });
    expect(applyChanges(parent, ['ENV X=1\nENV Y=$X', 'WORKDIR /a \\\n  b'])).toMatchObject({ Env: ['PATH=/bin', 'A=1', 'X=1', 'Y=1'], WorkingDir: '/a   b' });
    expect(parent.Env).toEqual(['PATH=/bin', 'A=1']); // not modified
  });

  it('adds ONBUILD triggers after the inherited ones, as build does', () => {
    expect(applyChanges({ ...parent, OnBuild: ['ENV X=1'] }, ['ONBUILD RUN a', 'ONBUILD COPY . /src']).OnBuild)
      .toEqual(['ENV X=1', 'RUN a', 'COPY . /src']);
  });

  it.each([
    ['RUN echo hi', /^change "RUN echo hi": RUN is not a valid change command \(commit supports CMD, .*ONBUILD, STOPSIGNAL, .*\)$/],
    ['from busybox', /FROM is not a valid change command/],
    ['COPY a /b', /COPY is not a valid change command/],
    ['ONBUILD ONBUILD RUN x', /Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed/],
    ['ONBUILD from x', /FROM isn't allowed as an ONBUILD trigger/],
    ['ONBUILD NOPE x', /unknown instruction: NOPE/],
    ['ONBUILD', /ONBUILD requires at least one argument/],
    ['HEALTHCHECK --every=5s CMD x', /unknown flag: every/],
    ['EXPOSE http', /invalid port "http"/],
    ['ENV', /ENV requires at least one argument/],
    ['ENV =x', /ENV names can not be blank/],
    ['ENV "C=with space"', /looking for matching double-quote/],
    ['USER a b', /USER requires exactly one argument/],
    ['LABEL a="b', /looking for matching double-quote/],
  ])('rejects %s', (change, err) => {
    expect(() => applyChanges(parent, [change])).toThrow(err);
  });
});

describe('child config', () => {
  const img: ImageConfig = {
    architecture: 'amd64', os: 'linux', author: 'someone', created: '2020-01-01T00:00:00Z', config: parent,
    rootfs: { type: 'layers', diff_ids: ['sha256:a', 'sha256:b'] },
    history: [{ created_by: 'one' }, { created_by: 'ENV X=1', empty_layer: true }, { created_by: 'two' }],
  };

  it('adds the layer, a history entry with message, author and changes, and the changed config', () => {
    const c = childConfig(img, 'sha256:c', { message: 'msg', author: 'me', changes: ['ENV Z=1', 'CMD ["z"]'] }, 'NOW');
    expect(c.rootfs.diff_ids).toEqual(['sha256:a', 'sha256:b', 'sha256:c']);
    expect(c.history!.at(-1)).toEqual({ created: 'NOW', created_by: 'ENV Z=1; CMD ["z"]', author: 'me', comment: 'msg' });
    expect(c).toMatchObject({ created: 'NOW', author: 'me', architecture: 'amd64', config: { Cmd: ['z'], Env: ['PATH=/bin', 'A=1', 'Z=1'] } });
  });

  it('does not inherit the author, and pads a short history so entries line up with layers', () => {
    const c = childConfig({ ...img, history: undefined }, 'sha256:c', {}, 'NOW');
    expect(c.author).toBeUndefined();
    expect(c.history).toEqual([{ created: img.created }, { created: img.created }, { created: 'NOW', created_by: '' }]);
  });
});
