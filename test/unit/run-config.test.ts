import { describe, expect, it } from 'vitest';
import { mergeEnv, processEnv, runProcess } from '../../src/run/config.js';
import { resolveUser } from '../../src/run/user.js';

const image = { Entrypoint: ['/entry'], Cmd: ['default'], Env: ['PATH=/img/bin', 'A=1'], WorkingDir: '/work', User: 'app' };

describe('runProcess merges like docker run', () => {
  it.each<[string, Parameters<typeof runProcess>[1], string[]]>([
    ['image entrypoint + cmd', { cmd: [], env: [] }, ['/entry', 'default']],
    ['arguments replace cmd', { cmd: ['x', 'y'], env: [] }, ['/entry', 'x', 'y']],
    ['--entrypoint drops the image cmd', { entrypoint: '/other', cmd: [], env: [] }, ['/other']],
    ['--entrypoint with arguments', { entrypoint: '/other', cmd: ['a'], env: [] }, ['/other', 'a']],
    ['--entrypoint "" runs the arguments', { entrypoint: '', cmd: ['sh'], env: [] }, ['sh']],
  ])('%s', (_n, flags, argv) => expect(runProcess(image, flags).argv).toEqual(argv));

  it('takes workdir and user from the image unless flags say otherwise', () => {
    expect(runProcess(image, { cmd: [], env: [] })).toMatchObject({ cwd: '/work', user: 'app' });
    expect(runProcess(image, { cmd: [], env: [], workdir: '/tmp', user: '1000' })).toMatchObject({ cwd: '/tmp', user: '1000' });
  });

  it('rejects no command and relative workdirs', () => {
    expect(() => runProcess({}, { cmd: [], env: [] })).toThrow(/no command specified/);
    expect(() => runProcess(image, { cmd: [], env: [], workdir: 'rel' })).toThrow(/absolute path/);
  });

  it('env: flags override the image, bare names come from the host, PATH has a default', () => {
    expect(mergeEnv(['A=1', 'B=2'], ['A=9', 'C', 'D'], { C: 'host' })).toEqual(['A=9', 'B=2', 'C=host', expect.stringMatching(/^PATH=\/usr\/local\/sbin/)]);
    expect(mergeEnv(['PATH=/x'], [])).toEqual(['PATH=/x']);
  });
});

describe('processEnv is docker\'s environment for run and exec', () => {
  const o = { hostname: 'abc123', home: '/home/u' };
  it.each<[string, string[], string[] | undefined, string[]]>([
    ['adds HOSTNAME and HOME', ['PATH=/bin'], undefined, ['PATH=/bin', 'HOSTNAME=abc123', 'HOME=/home/u']],
    ['keeps the container\'s HOSTNAME and HOME', ['HOSTNAME=box', 'HOME=/h'], undefined, ['HOSTNAME=box', 'HOME=/h']],
    ['exec -e over the container\'s HOSTNAME', ['PATH=/bin', 'HOSTNAME=box'], ['HOSTNAME=x', 'Y=1'], ['PATH=/bin', 'HOSTNAME=x', 'Y=1', 'HOME=/home/u']],
    ['exec without -e keeps the container\'s HOSTNAME', ['PATH=/bin', 'HOSTNAME=box'], [], ['PATH=/bin', 'HOSTNAME=box', 'HOME=/home/u']],
    ['exec -e HOME wins over passwd', ['PATH=/bin'], ['HOME=/e'], ['PATH=/bin', 'HOSTNAME=abc123', 'HOME=/e']],
  ])('%s', (_n, env, overrides, want) => expect(processEnv(env, { ...o, overrides })).toEqual(want));
});

describe('resolveUser', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n';
  const group = 'root:x:0:\napp:x:1000:\nstaff:x:50:\n';
  it.each<[string, object]>([
    ['', { uid: 0, gid: 0, home: '/root' }],
    ['app', { uid: 1000, gid: 1000, home: '/home/app' }],
    ['1000', { uid: 1000, gid: 1000, home: '/home/app' }],
    ['4242', { uid: 4242, gid: 0, home: '/' }],
    ['app:staff', { uid: 1000, gid: 50 }],
    ['1000:77', { uid: 1000, gid: 77 }],
  ])('%s', (spec, want) => expect(resolveUser(spec, passwd, group)).toMatchObject(want));

  it('names that do not exist are errors', () => {
    expect(() => resolveUser('ghost', passwd, group)).toThrow(/unable to find user ghost/);
    expect(() => resolveUser('app:ghosts', passwd, group)).toThrow(/unable to find group ghosts/);
  });
});
