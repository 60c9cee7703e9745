// docker run's host configuration as lamina parses and shows it: ports, restart policies,
// capabilities, security options, users, and the pieces of the attach stream.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detachFilter } from '../../src/run/attach.js';
import { LogWriter, readLog, readLogFrom } from '../../src/run/logs.js';
import { FRAME, FrameReader, frame } from '../../src/run/monitor-protocol.js';
import { displayPorts, parsePort } from '../../src/container/ports.js';
import { parseRestart, restartDelay, shouldRestart } from '../../src/run/restart.js';
import { capsMask, effectiveCaps, parseSecurityOpts, seccompDenyList } from '../../src/run/security.js';
import { buildRunSpec } from '../../src/run/spec.js';
import { resolveUser } from '../../src/run/user.js';
import { ellipsis } from '../../src/cli/format.js';
import { statusText } from '../../src/container/container-status.js';
import type { ContainerRecord } from '../../src/container/container-index.js';

describe('-p', () => {
  it.each([
    ['8080:80', [{ hostPort: 8080, containerPort: 80, proto: 'tcp' }]],
    ['127.0.0.1:8080:80/udp', [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, proto: 'udp' }]],
    ['[::1]:8080:80', [{ hostIp: '::1', hostPort: 8080, containerPort: 80, proto: 'tcp' }]],
    ['8080-8081:80-81', [{ hostPort: 8080, containerPort: 80, proto: 'tcp' }, { hostPort: 8081, containerPort: 81, proto: 'tcp' }]],
  ])('%s', (spec, want) => expect(parsePort(spec)).toEqual(want));

  it.each([
    ['80', /give the host port/], ['0:80', /out of range/], ['8080:80/sctp', /tcp or udp/], ['x:8080:80', /not an IP address/],
    ['8080-8082:80-81', /differ in length/], ['::1:80:80', /too many colons/],
  ])('refuses %s', (spec, why) => expect(() => parsePort(spec)).toThrow(why));

  it("PORTS as docker's ps shows them", () => {
    expect(displayPorts(parsePort('8080:80'))).toBe('0.0.0.0:8080->80/tcp, [::]:8080->80/tcp');
    expect(displayPorts(parsePort('127.0.0.1:80:80'), ['80/tcp', '443/tcp'])).toBe('127.0.0.1:80->80/tcp, 443/tcp');
    expect(displayPorts(parsePort('127.0.0.1:80-81:80-81'))).toBe('127.0.0.1:80-81->80-81/tcp');
    expect(displayPorts([], ['53/udp'])).toBe('53/udp');
  });
});

describe('--restart', () => {
  it('parses docker\'s policies', () => {
    expect(parseRestart('on-failure:3')).toEqual({ name: 'on-failure', maxRetries: 3 });
    expect(parseRestart('always')).toEqual({ name: 'always', maxRetries: 0 });
    expect(() => parseRestart('always:3')).toThrow(/only on-failure takes/);
    expect(() => parseRestart('sometimes')).toThrow(/want no, always/);
  });

  it('restarts as docker\'s restart manager does', () => {
    const exit = (exitCode: number, restartCount = 0, stoppedByUser = false) => ({ exitCode, restartCount, stoppedByUser });
    expect(shouldRestart(parseRestart('no'), exit(1))).toBe(false);
    expect(shouldRestart(parseRestart('always'), exit(0))).toBe(true);
    expect(shouldRestart(parseRestart('always'), exit(0, 0, true))).toBe(false);
    expect(shouldRestart(parseRestart('on-failure'), exit(0))).toBe(false);
    expect(shouldRestart(parseRestart('on-failure:2'), exit(1, 1))).toBe(true);
    expect(shouldRestart(parseRestart('on-failure:2'), exit(1, 2))).toBe(false);
    expect([restartDelay(0, 0), restartDelay(100, 50), restartDelay(51_200, 50), restartDelay(800, 10_000)]).toEqual([100, 200, 60_000, 100]);
  });
});

describe('capabilities and security options', () => {
  const base = { capAdd: [] as string[], capDrop: [] as string[], privileged: false };
  it("start from docker's 14", () => {
    expect(capsMask(effectiveCaps(base))).toBe('a80425fb');
    expect(capsMask(effectiveCaps({ ...base, capDrop: ['ALL'], capAdd: ['cap_kill'] }))).toBe('20');
    expect(effectiveCaps({ ...base, capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] })).not.toContain('SYS_ADMIN');
    expect(effectiveCaps({ ...base, privileged: true })).toHaveLength(41);
    expect(() => effectiveCaps({ ...base, capAdd: ['FLY'] })).toThrow(/invalid capability "FLY"/);
  });

  it('lifts seccomp rules with the capability that allows the calls', () => {
    expect(seccompDenyList(effectiveCaps(base), true)).toEqual(expect.arrayContaining(['mount', 'unshare', 'clone-ns', 'keyctl', 'reboot']));
    expect(seccompDenyList([...effectiveCaps(base), 'SYS_ADMIN'], true)).not.toContain('mount');
    expect(seccompDenyList(effectiveCaps(base), false)).toEqual([]);
  });

  it('knows no-new-privileges and seccomp=unconfined', () => {
    expect(parseSecurityOpts([])).toEqual({ noNewPrivileges: false, seccomp: true });
    expect(parseSecurityOpts(['no-new-privileges', 'seccomp=unconfined'])).toEqual({ noNewPrivileges: true, seccomp: false });
    expect(parseSecurityOpts(['no-new-privileges:false'])).toEqual({ noNewPrivileges: false, seccomp: true });
    expect(() => parseSecurityOpts(['label=disable'])).toThrow(/invalid --security-opt/);
  });
});

describe('run flags checked before a container exists', () => {
  const image = { Cmd: ['sh'], ExposedPorts: { '80/tcp': {} }, StopSignal: 'SIGQUIT' };
  it.each<[string, Parameters<typeof buildRunSpec>[1], RegExp]>([
    ['--rm with a restart policy', { cmd: [], env: [], rm: true, restart: 'always' }, /Conflicting options: --restart and --rm/],
    ['ports without the private network', { cmd: [], env: [], network: 'host', publish: ['80:80'] }, /need the private network/],
    ['an unknown network', { cmd: [], env: [], network: 'macvlan' }, /network macvlan not found/],
    ['a bad --add-host', { cmd: [], env: [], addHost: ['db'] }, /invalid argument "db" for "--add-host"/],
    ['a relative volume', { cmd: [], env: [], volumes: ['data:/data'] }, /both paths must be absolute/],
  ])('refuses %s', (_n, flags, why) => expect(() => buildRunSpec(image, flags)).toThrow(why));

  it('keeps the image\'s stop signal and exposed ports, and gives a tty TERM', () => {
    const spec = buildRunSpec(image, { cmd: [], env: [], tty: true, network: 'bridge', addHost: ['db:[::1]'] });
    expect(spec).toMatchObject({ stopSignal: 'SIGQUIT', exposed: ['80/tcp'], network: 'private', addHosts: ['db:::1'] });
    expect(spec.process.env).toContain('TERM=xterm');
  });
});

describe('-u', () => {
  const passwd = 'root:x:0:0::/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\nbad:x:4294967296:0::/:/bin/sh\n';
  const group = 'root:x:0:\nuser:x:1000:\nwheel:x:10:user,other\naudio:x:29:user\n';
  it('adds the groups that list the user', () => {
    expect(resolveUser('user', passwd, group)).toEqual({ uid: 1000, gid: 1000, groups: [10, 29], home: '/home/user' });
    expect(resolveUser('', passwd, group)).toEqual({ uid: 0, gid: 0, groups: [], home: '/root' });
  });
  it('never turns an ID out of range into another one', () => {
    expect(() => resolveUser('4294967296', passwd, group)).toThrow(/invalid user ID 4294967296/);
    expect(() => resolveUser('0:4294967295', passwd, group)).toThrow(/invalid group ID/);
    expect(() => resolveUser('bad', passwd, group)).toThrow(/invalid user ID for bad in passwd file/);
  });
});

describe('the attach stream', () => {
  it('frames survive any chunking', () => {
    const got: Array<[number, string]> = [];
    const r = new FrameReader((k, p) => got.push([k, p.toString()]));
    const bytes = Buffer.concat([frame(FRAME.stdout, 'hello'), frame(FRAME.exit, '{"exitCode":3}'), frame(FRAME.stdinEnd)]);
    for (const b of bytes) r.push(Buffer.from([b]));
    expect(got).toEqual([[FRAME.stdout, 'hello'], [FRAME.exit, '{"exitCode":3}'], [FRAME.stdinEnd, '']]);
  });

  it('Ctrl-P Ctrl-Q detaches; a lone Ctrl-P passes on, even across chunks', () => {
    const f = detachFilter();
    expect(f(Buffer.from('ab\x10'))).toEqual({ pass: Buffer.from('ab'), detach: false });
    expect(f(Buffer.from('c'))).toEqual({ pass: Buffer.from('\x10c'), detach: false });
    expect(f(Buffer.from('\x10\x11rest'))).toEqual({ pass: Buffer.from(''), detach: true });
  });
});

describe('the log', () => {
  it('writes whole lines per stream, multibyte characters split across chunks intact', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lamina-log-'));
    try {
      const file = path.join(dir, 'container.log');
      const w = new LogWriter(file);
      const snow = Buffer.from('❄');
      w.write('stdout', Buffer.concat([Buffer.from('one\ntw'), snow.subarray(0, 1)]));
      w.write('stderr', Buffer.from('err\n'));
      w.write('stdout', Buffer.concat([snow.subarray(1), Buffer.from('o\nthree')]));
      await w.close();
      const { entries, size } = await readLog(file);
      expect(entries.map((e) => [e.stream, e.log])).toEqual([['stdout', 'one\n'], ['stderr', 'err\n'], ['stdout', 'tw❄o\n'], ['stdout', 'three']]);
      expect(entries.every((e) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/.test(e.time))).toBe(true);
      expect((await readLogFrom(file, size)).entries).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ps', () => {
  const at = (ms: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + ms).toISOString();
  const c = (run: Partial<ContainerRecord['run']>) => ({ created: at(0), run: { state: 'created', restartCount: 0, stoppedByUser: false, ...run } }) as ContainerRecord;
  const now = Date.parse(at(200_000));
  it.each([
    [{ state: 'created' }, 'Created'],
    [{ state: 'running', startedAt: at(20_000) }, 'Up 3 minutes'],
    [{ state: 'exited', exitCode: 2, finishedAt: at(195_000) }, 'Exited (2) 5 seconds ago'],
    [{ state: 'restarting', exitCode: 1, finishedAt: at(199_500) }, 'Restarting (1) Less than a second ago'],
  ] as const)('%o is %s', (run, want) => expect(statusText(c(run), now)).toBe(want));

  it("cuts COMMAND like docker's Ellipsis", () => {
    expect(ellipsis('httpd -f -p 80 -h /www', 20)).toBe('httpd -f -p 80 -h /…');
    expect(ellipsis('short', 20)).toBe('short');
  });
});
