// Containers that live, end to end as a docker user would drive them: an image pulled from the
// local registry runs detached with a published port, serves a page, shows in ps with its
// ports, logs, takes exec, stops with its exit code, starts again and goes with rm -f. Every
// test leaves no monitor, no mount and no open port behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canMount, mountsUnder } from '../helpers/containers.js';
import { buildOciLayout } from '../helpers/images.js';
import { BIN, cliOn, tempDir } from '../helpers/lamina.js';
import { ServiceClient } from '../../src/service/client.js';
import { expectNothingLeft, monitorPids, psRows, WEB_CMD, webRootfs } from '../helpers/live-containers.js';
import { haveCommand, pidAlive, run, runOk, waitFor } from '../helpers/proc.js';
import { freePort, startRegistry, type Registry } from '../helpers/registry.js';

const tools = await Promise.all(['umoci', 'skopeo', 'unshare', 'setpriv', 'pasta', 'script'].map(haveCommand));

let registry: Registry;
let work: string;
let root: string;
let removeWork: () => Promise<void>;
let image: string;
const env = () => ({ LAMINA_RUN_DIR: path.join(work, 'run'), DOCKER_CONFIG: path.join(work, 'docker-config') });
const { cli, cliOk } = cliOn(() => root, env);

/** The page at `port`, or the error's code (ECONNREFUSED once nothing listens). */
async function page(port: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
    return `${res.status} ${await res.text()}`;
  } catch (err) {
    return ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? String(err);
  }
}

/** ps's table line for container `name`, columns split on runs of 3+ spaces. */
async function psLine(name: string, all = false): Promise<string[] | undefined> {
  const lines = (await cliOk(['ps', ...(all ? ['-a'] : [])])).trimEnd().split('\n');
  return lines.slice(1).map((l) => l.split(/ {3,}/)).find((cols) => cols.at(-1) === name);
}

describe.runIf(canMount && tools.every(Boolean))('containers that live', () => {
  beforeAll(async () => {
    ({ dir: work, cleanup: removeWork } = await tempDir('lamina-lifecycle-'));
    await chmod(work, 0o755);
    root = path.join(work, 'store');
    registry = await startRegistry();
    const layout = path.join(work, 'layout');
    await buildOciLayout(layout, [webRootfs], { timeout: 300_000, config: { cmd: WEB_CMD, exposedPorts: ['80/tcp'] } });
    image = registry.ref('lamina/web:1');
    await runOk('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${image}`], { timeout: 120_000 });
  }, 600_000);

  afterEach(() => expectNothingLeft(root, work, cli), 60_000);

  afterAll(async () => {
    await registry?.stop();
    for (const m of (await mountsUnder(work ?? '/nonexistent')).reverse()) await run('umount', ['-l', m]);
    await removeWork?.();
  }, 60_000);

  it('pull, run -d -p, the page, ps, logs, exec, stop → Exited (0), start, rm -f', async () => {
    await cliOk(['pull', image]);
    const port = await freePort();
    const id = (await cliOk(['run', '-d', '--name', 'web', '-p', `${port}:80`, image])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await waitFor(async () => (await page(port)).startsWith('200'), { what: 'the page', timeoutMs: 15_000 });
    expect(await page(port)).toBe('200 <h1>hello from lamina</h1>\n');

    const up = await psLine('web');
    expect(up).toEqual([id.slice(0, 12), image, `"${'sh -c echo listenin'}…"`, expect.stringMatching(/ago$/),
      expect.stringMatching(/^Up (Less than a second|\d+ seconds?)$/), `0.0.0.0:${port}->80/tcp, [::]:${port}->80/tcp`, 'web']);

    const logs = await cli(['logs', 'web']);
    expect(logs.stdout).toBe('listening on 80\n');
    expect(logs.stderr).toMatch(/127\.0\.0\.1:\d+|::1|response:200|GET/); // httpd -v logs the request on stderr
    expect((await cliOk(['logs', '-t', 'web'])).trimEnd()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z listening on 80$/);

    expect(await cliOk(['exec', 'web', 'cat', '/www/index.html'])).toBe('<h1>hello from lamina</h1>\n');
    expect(await cliOk(['exec', '-e', 'X=1', '-w', '/www', '-u', 'user', 'web', 'sh', '-c', 'echo $X $(pwd) $(id -un) $HOME'])).toBe('1 /www user /home/user\n');
    expect(await cliOk(['exec', 'web', 'sh', '-c', 'echo $HOSTNAME $HOME'])).toBe(`${id.slice(0, 12)} /root\n`);
    const ps = await cliOk(['exec', 'web', 'ps', '-o', 'pid,args']);
    expect(ps).toMatch(/^\s*1 sh -c echo listening/m); // the container's own PID namespace, its command as PID 1

    expect(await cliOk(['stop', 'web'])).toBe('web\n');
    expect(await psLine('web')).toBeUndefined();
    const down = (await psRows(cli)).find((r) => r.Names === 'web')!;
    expect(down.Status).toMatch(/^Exited \(0\) (Less than a second|\d+ seconds?) ago$/);
    expect(down.Ports).toBe(''); // no ports while it is down
    expect(await page(port)).toBe('ECONNREFUSED');
    expect((await cli(['logs', 'web'])).stdout).toBe('listening on 80\nbye\n');
    const notRunning = await cli(['exec', 'web', 'true']);
    expect(notRunning.code).not.toBe(0);
    expect(notRunning.stderr).toMatch(/container [0-9a-f]{64} is not running/);

    expect(await cliOk(['start', 'web'])).toBe('web\n');
    await waitFor(async () => (await page(port)).startsWith('200'), { what: 'the page again', timeoutMs: 15_000 });
    expect((await psLine('web'))?.[4]).toMatch(/^Up /);

    const monitors = await monitorPids(root);
    expect(monitors).toHaveLength(1);
    expect(await cliOk(['rm', '-f', 'web'])).toBe('web\n');
    expect(await psLine('web', true)).toBeUndefined();
    expect(await page(port)).toBe('ECONNREFUSED');
    expect(await pidAlive(monitors[0]!)).toBe(false);
  }, 180_000);

  it("exec's environment is the one run gave the process (docker's): run -e HOSTNAME kept, exec -e over it", async () => {
    await cliOk(['run', '-d', '--name', 'envs', '-e', 'HOSTNAME=named', '-e', 'A=1', image, 'sh', '-c', 'env > /run.env; exec sleep 600']);
    const sorted = (text: string) => text.trim().split('\n').filter((l) => !/^(PWD|SHLVL|_)=/.test(l)).sort();
    const atRun = sorted(await waitFor(async () => (await cli(['exec', 'envs', 'cat', '/run.env'])).stdout, { what: 'the env run wrote' }));
    expect(atRun).toContain('HOSTNAME=named');
    expect(sorted(await cliOk(['exec', 'envs', 'env']))).toEqual(atRun);
    expect(await cliOk(['exec', '-e', 'HOSTNAME=x', '-u', 'user', 'envs', 'sh', '-c', 'echo $HOSTNAME $A $HOME'])).toBe('x 1 /home/user\n');
    expect(await cliOk(['rm', '-f', 'envs'])).toBe('envs\n');
  }, 120_000);

  it('start -a: the output and exit code of a created container, again once it exited; -i passes input; a running one is refused', async () => {
    await cliOk(['create', '--name', 'once', image, 'sh', '-c', 'echo out; echo err >&2; exit 4']);
    for (let i = 0; i < 2; i++) {
      const r = await cli(['start', '-a', 'once']);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 4, stdout: 'out\n', stderr: 'err\n' });
    }
    await cliOk(['create', '-i', '--name', 'cat', image, 'cat']);
    const cat = await cli(['start', '-a', '-i', 'cat'], { input: 'typed\n' });
    expect({ code: cat.code, stdout: cat.stdout, stderr: cat.stderr }).toEqual({ code: 0, stdout: 'typed\n', stderr: '' });

    const id = (await cliOk(['run', '-d', '--name', 'up', image, 'sleep', '600'])).trim();
    const running = await cli(['start', '-a', 'up']);
    expect({ code: running.code, stderr: running.stderr }).toEqual({ code: 1,
      stderr: `error: container ${id.slice(0, 12)} is already running\nhint: attach to a running container is not supported\n` });
    expect(await cliOk(['start', 'up'])).toBe('up\n'); // without -a: nothing to do
    const two = await cli(['start', '-a', 'once', 'cat']);
    expect({ code: two.code, stderr: two.stderr }).toEqual({ code: 1, stderr: 'error: you cannot start and attach multiple containers at once\n' });
  }, 120_000);

  it('records exit codes: wait, kill -s, Exited (N), rm of a running container without -f', async () => {
    await cliOk(['run', '-d', '--name', 'three', image, 'sh', '-c', 'sleep 0.2; exit 3']);
    expect(await cliOk(['wait', 'three'])).toBe('3\n');
    const row = (await psRows(cli)).find((r) => r.Names === 'three')!;
    expect(row.State).toBe('exited');
    expect(row.Status).toMatch(/^Exited \(3\) /);

    await cliOk(['run', '-d', '--name', 'sleeper', image, 'sh', '-c', "trap 'exit 7' USR1; while :; do sleep 0.1; done"]);
    const busy = await cli(['rm', 'sleeper']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/cannot remove container "\/sleeper": container is running/);
    expect(await cliOk(['kill', '-s', 'USR1', 'sleeper'])).toBe('sleeper\n');
    expect(await cliOk(['wait', 'sleeper'])).toBe('7\n');
    const notRunning = await cli(['kill', 'sleeper']);
    expect(notRunning.code).toBe(1);
    expect(notRunning.stderr).toMatch(/is not running/);
    await cliOk(['start', 'sleeper']);
    expect(await cliOk(['kill', 'sleeper'])).toBe('sleeper\n'); // SIGKILL
    expect(await cliOk(['wait', 'sleeper'])).toBe('137\n');
  }, 120_000);

  it('--restart on-failure:2 runs the command three times; always runs it again until stop', async () => {
    await cliOk(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', image, 'sh', '-c', 'echo try; exit 4']);
    expect(await cliOk(['wait', 'flaky'])).toBe('4\n');
    expect(await cliOk(['logs', 'flaky'])).toBe('try\ntry\ntry\n');
    await cliOk(['run', '-d', '--name', 'always', '--restart', 'always', image, 'sh', '-c', 'echo up; exit 0']);
    await waitFor(async () => ((await cliOk(['logs', 'always'])).match(/up/g)?.length ?? 0) >= 3, { what: 'three restarts' });
    expect(await cliOk(['stop', 'always'])).toBe('always\n');
    expect((await psRows(cli)).find((r) => r.Names === 'always')?.State).toBe('exited');
  }, 120_000);

  it('restart policies across service restarts: always and unless-stopped come back, a stopped one and no policy stay down', async () => {
    const sock = path.join(work, 'lamina.sock');
    const services: ChildProcess[] = [];
    const serve = async () => {
      const child = spawn(process.execPath, [BIN, '--root', root, 'serve', '--socket', sock], { env: { ...process.env, ...env() }, stdio: 'ignore' });
      services.push(child);
      await waitFor(() => new ServiceClient(sock).info().then((i) => i.pid === child.pid, () => false), { what: 'the service', timeoutMs: 15_000 });
      return child;
    };
    const state = async (name: string) => (await psRows(cli)).find((r) => r.Names === name)!;
    const monitorOf = async (name: string) => {
      const id = (await state(name)).ID;
      for (const pid of await monitorPids(root)) if ((await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes(id)) return pid;
      return undefined;
    };
    const loop = "trap 'exit 0' TERM; echo up; while :; do sleep 0.1; done";
    try {
      const first = await serve();
      await cliOk(['run', '-d', '--name', 'always', '--restart', 'always', image, 'sh', '-c', loop]);
      await cliOk(['run', '-d', '--name', 'unless', '--restart', 'unless-stopped', image, 'sh', '-c', loop]);
      await cliOk(['run', '-d', '--name', 'stopped', '--restart', 'unless-stopped', image, 'sh', '-c', loop]);
      await cliOk(['run', '-d', '--name', 'plain', image, 'sh', '-c', loop]);
      await cliOk(['stop', 'stopped']);
      first.kill('SIGKILL'); // the service crashes: the containers run on under their monitors
      await once(first, 'exit');
      expect((await state('always')).Status).toMatch(/^Up /);
      // The host goes down: every monitor (and so every container) dies with it.
      for (const pid of await monitorPids(root)) process.kill(pid, 'SIGKILL');
      await waitFor(async () => (await monitorPids(root)).length === 0, { what: 'the monitors to die' });
      const second = await serve();
      await waitFor(async () => (await state('always')).Status.startsWith('Up') && (await state('unless')).Status.startsWith('Up'),
        { what: 'always and unless-stopped to come back', timeoutMs: 20_000 });
      expect((await state('stopped')).Status).toMatch(/^Exited \(0\)/);
      expect((await state('plain')).Status).toMatch(/^Exited \(255\)/);
      expect(await cliOk(['logs', 'always'])).toBe('up\nup\n');
      // While the service runs, a monitor that dies is replaced within its check interval, also when
      // a ps notices the death first (it records the exit; the service must still restart it).
      const pid = await monitorOf('always');
      process.kill(pid!, 'SIGKILL');
      await waitFor(async () => !(await pidAlive(pid!)), { what: 'the monitor to die' });
      expect((await state('always')).Status).toMatch(/^(Exited \(255\)|Up )/);
      await waitFor(async () => (await cliOk(['logs', 'always'])) === 'up\nup\nup\n', { what: 'a third start', timeoutMs: 20_000 });
      second.kill('SIGTERM');
      expect((await once(second, 'exit'))[0]).toBe(0);
    } finally {
      for (const s of services) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
    }
  }, 180_000);

  it('logs --tail and -f, which ends when the container stops', async () => {
    await cliOk(['run', '-d', '--name', 'counter', image, 'sh', '-c', "trap 'exit 0' TERM; echo err >&2; for i in 1 2 3; do echo $i; done; while :; do sleep 0.1; done"]);
    await waitFor(async () => (await cliOk(['logs', 'counter'])) === '1\n2\n3\n', { what: 'the output' });
    expect(await cliOk(['logs', '--tail', '2', 'counter'])).toBe('2\n3\n');
    expect((await cli(['logs', '--tail', '0', 'counter'])).stdout).toBe('');
    const follow = cli(['logs', '-f', '--tail', '1', 'counter']);
    await sleep(500);
    await cliOk(['stop', 'counter']);
    const r = await follow;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('3\n');
    expect(r.stderr).toBe('');
    expect((await cli(['logs', 'counter'])).stderr).toBe('err\n');
    expect((await cli(['logs', '--tail', 'x', 'counter'])).stderr).toMatch(/invalid --tail "x"/);
  }, 120_000);

  it('networks: private has its own interfaces and cannot reach the host loopback; none has only lo; host is the host', async () => {
    const port = await freePort();
    const hostServer = (await import('node:http')).createServer((_q, s) => s.end('host-only\n'));
    await new Promise<void>((r) => hostServer.listen(port, '127.0.0.1', r));
    try {
      const priv = await cli(['run', '--rm', image, 'sh', '-c', `cat /proc/net/dev | cut -d: -f1 | tail -n +3 | sort; wget -q -T 2 -O - http://127.0.0.1:${port}/ || echo unreachable`]);
      const [ifaces, reach] = [priv.stdout.split('\n').map((s) => s.trim()).filter(Boolean).slice(0, -1), priv.stdout.trim().split('\n').at(-1)];
      expect(ifaces).toHaveLength(2); // lo and pasta's tap interface
      expect(ifaces).toContain('lo');
      expect(reach).toBe('unreachable');
      const none = await cli(['run', '--rm', '--network', 'none', image, 'sh', '-c', 'cat /proc/net/dev | cut -d: -f1 | tail -n +3']);
      expect(none.stdout.trim()).toBe('lo');
      const host = await cli(['run', '--rm', '--network', 'host', image, 'wget', '-q', '-O', '-', `http://127.0.0.1:${port}/`]);
      expect(host.stdout).toBe('host-only\n');
    } finally {
      hostServer.close();
    }
    const bad = await cli(['run', '--rm', '--network', 'host', '-p', '80:80', image, 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/published ports need the private network/);
    const badPort = await cli(['run', '--rm', '-p', '70000:80', image, 'true']);
    expect(badPort.stderr).toMatch(/invalid port "70000:80": host port out of range/);
  }, 120_000);

  it('--init runs tini as PID 1; --hostname and --add-host reach /etc', async () => {
    const r = await cli(['run', '--rm', '--init', '--hostname', 'box', '--add-host', 'db:10.1.2.3', image, 'sh', '-c',
      'cat /proc/1/cmdline | tr "\\0" " "; echo; hostname; grep db /etc/hosts']);
    expect(r.stdout).toBe('/dev/init -- sh -c cat /proc/1/cmdline | tr "\\0" " "; echo; hostname; grep db /etc/hosts \nbox\n10.1.2.3\tdb\n');
  }, 60_000);

  it('-it: a pty of its own with TERM and the window size, Ctrl-C to the command, Ctrl-P Ctrl-Q detaches', async () => {
    const cmd = [process.execPath, BIN, '--root', root, 'run', '-it', '--name', 'tty', image, 'sh']
      .map((a) => `'${a}'`).join(' ');
    const script = `stty rows 33 cols 101; ${cmd}`;
    const p = spawn('script', ['-qefc', script, '/dev/null'], { env: { ...process.env, ...env() }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => p.once('close', (code) => r(code)));
    try {
      await waitFor(() => out.includes('# '), { what: 'the prompt', timeoutMs: 30_000 });
      p.stdin!.write('tty; echo $TERM; stty size\n');
      await waitFor(() => /\/dev\/pts\/0\r?\nxterm\r?\n33 101/.test(out), { what: 'tty, TERM and size', timeoutMs: 10_000 });
      p.stdin!.write('sleep 30; echo after\n');
      await sleep(500);
      p.stdin!.write('\x03'); // Ctrl-C ends sleep, not the shell
      p.stdin!.write('echo still-$((40+2))\n');
      await waitFor(() => out.includes('still-42'), { what: 'the shell after Ctrl-C', timeoutMs: 10_000 });
      expect(out).not.toMatch(/^after\r?$/m); // only the echo of the typed line says it
      p.stdin!.write('\x10\x11'); // Ctrl-P Ctrl-Q
      expect(await exited).toBe(0);
      expect(out).toContain('read escape sequence');
      expect((await psRows(cli)).find((r) => r.Names === 'tty')?.Status).toMatch(/^Up /);
    } finally {
      if (p.exitCode === null) p.kill('SIGKILL');
    }
  }, 90_000);
});
