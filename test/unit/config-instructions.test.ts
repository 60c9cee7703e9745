// One config instruction, two ways in: `commit --change` (applyChanges) and `build` (the
// Dockerfile parser, then the stage's configStep). Both must give the same config, docker's.
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../src/build/dockerfile.js';
import { StageState, type BuildEnv } from '../../src/build/stage.js';
import { applyChanges } from '../../src/image/config-changes.js';
import type { ContainerConfig, ImageConfig } from '../../src/image/oci.js';
import type { Digest } from '../../src/store/types.js';

const base: ContainerConfig = {
  Env: ['PATH=/bin', 'A=1', 'BARE'], Cmd: ['serve'], Entrypoint: ['/init'], WorkingDir: '/srv',
  Labels: { keep: 'yes' }, Shell: ['/bin/ash', '-c'],
};

/** The config `lamina build` gives for `lines` on top of `base`, step by step as a stage does. */
function built(lines: string[]): ContainerConfig {
  const st = new StageState({ escape: '\\' } as BuildEnv, 'sha256:0' as Digest, { config: base } as ImageConfig);
  for (const step of parseDockerfile(`FROM x\n${lines.join('\n')}`, 'Dockerfile').stages[0]!.steps) {
    st.config = { ...st.config, config: st.configStep(step).config };
  }
  return st.container;
}

describe('commit --change and build apply an instruction alike', () => {
  it.each<[string[], ContainerConfig]>([
    [['ENTRYPOINT'], { Entrypoint: null, Cmd: null }],
    [['ENTRYPOINT []'], { Entrypoint: null, Cmd: null }],
    [['CMD'], { Cmd: null }],
    [['ENTRYPOINT [""]'], { Entrypoint: [''], Cmd: null }],
    [['ENTRYPOINT exec run'], { Entrypoint: ['/bin/ash', '-c', 'exec run'], Cmd: null }],
    [['CMD ["x"]', 'ENTRYPOINT ["/e"]'], { Cmd: ['x'], Entrypoint: ['/e'] }],
    [['ENTRYPOINT ["/e"]', 'CMD echo "$A"'], { Cmd: ['/bin/ash', '-c', 'echo "$A"'], Entrypoint: ['/e'] }],
    [['ENV K value  with  spaces'], { Env: ['PATH=/bin', 'A=1', 'BARE', 'K=value  with  spaces'] }],
    [['ENV A=2 B=$A C="x  y"'], { Env: ['PATH=/bin', 'A=2', 'BARE', 'B=1', 'C=x  y'] }],
    [['ENV X=1', 'ENV Y=$X'], { Env: ['PATH=/bin', 'A=1', 'BARE', 'X=1', 'Y=1'] }],
    [['LABEL k v  w', "LABEL a=$A b='$A'"], { Labels: { keep: 'yes', k: 'v  w', a: '1', b: '$A' } }],
    [['EXPOSE 80 53/udp 8000-8001'], { ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} } }],
    [['VOLUME ["/data", "/$A"]', 'VOLUME /x $A'], { Volumes: { '/data': {}, '/1': {}, '/x': {}, 1: {} } }],
    [['WORKDIR sub/../app', 'WORKDIR $A  b'], { WorkingDir: '/srv/app/1  b' }],
    [['USER ${A}:2', 'STOPSIGNAL SIGINT'], { User: '1:2', StopSignal: 'SIGINT' }],
    [['ONBUILD run echo $A', 'ONBUILD ADD . /app'], { OnBuild: ['RUN echo $A', 'ADD . /app'] }],
    [['HEALTHCHECK --timeout=3s CMD curl -f x'], { Healthcheck: { Test: ['CMD-SHELL', 'curl -f x'], Timeout: 3e9 } }],
  ])('%j', (lines, want) => {
    const committed = applyChanges(base, lines);
    expect(committed).toEqual({ ...base, ...want });
    expect(built(lines)).toEqual(committed);
  });

  it.each([
    ['ENV', /ENV requires at least one argument/],
    ['ENV =x', /ENV names can not be blank/],
    ['LABEL lonely', /LABEL must have two arguments/],
    ['USER a b', /USER requires exactly one argument/],
    ['EXPOSE http', /invalid port "http"/],
    ['VOLUME [""]', /VOLUME specified can not be an empty string/],
    ['ONBUILD ONBUILD RUN x', /Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed/],
    ['ONBUILD MAINTAINER me', /MAINTAINER isn't allowed as an ONBUILD trigger/],
    ['HEALTHCHECK --retries=0 CMD x', /--retries must be at least 1/],
    ['HEALTHCHECK --interval CMD x', /missing a value on flag: interval/],
  ])('both refuse %s', (line, err) => {
    expect(() => applyChanges(base, [line])).toThrow(err);
    expect(() => built([line])).toThrow(err);
  });
});
