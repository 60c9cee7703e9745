// lamina serve end to end: a real service process on a temp socket, real workers, real FUSE mounts.
// Every mount and every read runs in a child process; every process this file starts is stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../src/service/client.js';
import type { MountStatus } from '../../src/service/protocol.js';
import { busyboxRootfs } from '../helpers/images.js';
import { canMount, fixture, mountsUnder, sh, type Fixture } from '../helpers/containers.js';
import { BIN } from '../helpers/lamina.js';
import { pidAlive, run, waitFor } from '../helpers/proc.js';

const N = 20;
const BIG = randomBytes(1 << 20);
const BIG_SHA = createHash('sha256').update(BIG).digest('hex');

async function layer(r: string): Promise<void> {
  await busyboxRootfs(r);
  await mkdir(path.join(r, 'data'), { recursive: true });
  await writeFile(path.join(r, 'data/a.txt'), 'alpha\n');
  await writeFile(path.join(r, 'data/big.bin'), BIG);
}

interface Service {
  child: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe.runIf(canMount)('lamina serve', () => {
  let f: Fixture;
  let sock: string;
  let api: ServiceClient;
  let svc: Service | undefined;
  const services: number[] = [];
  const dirs = Array.from({ length: N }, (_, i) => `m${String(i).padStart(2, '0')}`);
  const at = (d: string) => path.join(f.work, d);
  const cli = (args: string[], timeout?: number) => f.cli(['--socket', sock, ...args], timeout);

  async function startService(): Promise<Service> {
    const log = await open(path.join(f.work, 'serve.log'), 'a');
    const child = spawn(process.execPath, [BIN, '--root', f.root, 'serve', '--socket', sock], {
      env: { ...process.env, LAMINA_RUN_DIR: f.runDir }, stdio: ['ignore', log.fd, log.fd],
    });
    await log.close();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })));
    services.push(child.pid!);
    const started = Date.now();
    await waitFor(() => api.info().then((i) => i.pid === child.pid), { timeoutMs: 15_000, what: 'the service to answer' })
      .catch(async (err: Error) => { // say what the service was doing: its log, and whether it still runs
        const log = (await readFile(path.join(f.work, 'serve.log'), 'utf8')).split('\n').slice(-15).join('\n');
        throw new Error(`${err.message}\nservice pid ${child.pid} ${(await pidAlive(child.pid!)) ? 'alive' : 'gone'} after ${Date.now() - started} ms; serve.log ends:\n${log}`);
      });
    return { child, pid: child.pid!, exited };
  }

  const mounts = (): Promise<MountStatus[]> => api.mounts();
  const allMounted = async (n = N) => {
    const ms = await mounts();
    return ms.length === n && ms.every((m) => m.state === 'mounted') ? ms : undefined;
  };
  const workerOf = async (d: string) => (await mounts()).find((m) => m.dir === at(d))!.pid!;

  /** Worker processes (lamina-mountd) serving anything under this test's work dir. */
  async function strayWorkers(): Promise<number[]> {
    const out: number[] = [];
    for (const p of await readdir('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      const argv = await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
      if (argv.includes('lamina-mountd') && argv.includes(f.work) && (await pidAlive(Number(p)))) out.push(Number(p));
    }
    return out;
  }

  /**
   * Reads every mount `rounds` times in parallel child processes, pausing `pause` seconds between
   * rounds; resolves with the failures.
   */
  async function readAll(names: string[], rounds: number, pause = 0): Promise<string[]> {
    const script = (d: string) => `for i in $(seq ${rounds}); do
      [ "$(cat ${at(d)}/data/a.txt)" = "$1" ] || { echo "a.txt differs in ${d}"; exit 1; }
      [ "$(sha256sum < ${at(d)}/data/big.bin | cut -d' ' -f1)" = ${BIG_SHA} ] || { echo "big.bin differs in ${d}"; exit 1; }
      ${pause ? `sleep ${pause}` : ''}
    done`;
    const results = await Promise.all(names.map((d) => run('sh', ['-c', script(d), 'sh', d === dirs[0] ? 'changed' : 'alpha'], { timeout: 60_000 })));
    return results.flatMap((r, i) => (r.code === 0 ? [] : [`${names[i]}: ${r.stdout}${r.stderr}`]));
  }

  beforeAll(async () => {
    f = await fixture('lamina-service-', [layer]);
    sock = path.join(f.work, 'lamina.sock');
    api = new ServiceClient(sock);
    for (const d of [...dirs, 'spare']) await mkdir(at(d));
  }, 300_000);

  afterAll(async () => {
    if (!f) return;
    for (const pid of services) if (await pidAlive(pid)) process.kill(pid, 'SIGTERM');
    await waitFor(async () => !(await Promise.all(services.map(pidAlive))).some(Boolean), { timeoutMs: 20_000, what: 'services to exit' })
      .catch(() => services.forEach((pid) => process.kill(pid, 'SIGKILL')));
    for (const pid of await strayWorkers()) process.kill(pid, 'SIGKILL');
    expect(await f.unmountAll()).toBe(true);
    expect(await mountsUnder(f.work)).toEqual([]);
    await f.cleanup();
  }, 60_000);

  it('says direct mode while no service runs, and which service when one does', async () => {
    expect(await f.cliOk(['--socket', sock, 'info'])).toMatch(/^Service: not running \(direct mode\)$/m);
    svc = await startService();
    const info = await f.cliOk(['--socket', sock, 'info']);
    expect(info).toContain(`Service: running (pid ${svc.pid}, socket ${sock})`);
    expect(info).toMatch(/^Service mounts: 0$/m);
    const other = await run(process.execPath, [BIN, '--root', path.join(f.work, 'other-store'), '--socket', sock, 'info']);
    expect(other.stdout).toContain(`Service: running (pid ${svc.pid}, socket ${sock}) for store ${f.root}; this store uses direct mode`);
    const st = await stat(sock);
    expect([st.mode & 0o777, st.uid, st.gid]).toEqual([0o660, 0, 0]);
  }, 30_000);

  it(`mounts ${N} containers of one image at once, and parallel reads on all of them are right`, async () => {
    const outs = await Promise.all(dirs.map((d) => cli(['mount', f.ref, at(d)], 60_000)));
    for (const r of outs) expect(r.stderr).toBe('');
    expect(outs.map((r) => r.stdout.trim())).toEqual(dirs.map(() => expect.stringMatching(/^[0-9a-f]{64}$/)));
    const ms = await waitFor(() => allMounted(), { timeoutMs: 10_000, what: 'all mounts' });
    expect(new Set(ms.map((m) => m.pid)).size).toBe(N); // one worker each
    expect((await mountsUnder(f.work)).sort()).toEqual(dirs.map(at));
    const ps = await cli(['ps']);
    expect(ps.stdout.match(/Mounted at /g)).toHaveLength(N);
    const info = (await cli(['info'])).stdout;
    for (const m of ms) expect(info).toContain(`${m.dir}  mounted  container ${m.containerId!.slice(0, 12)}  worker ${m.pid}  restarts 0`);
    expect(await sh(`echo changed > ${at(dirs[0]!)}/data/a.txt && echo kept > ${at(dirs[0]!)}/new.txt`)).toMatchObject({ code: 0 });
    expect(await readAll(dirs, 5)).toEqual([]);
  }, 90_000);

  it('replaces a worker killed with SIGKILL within 2 s, with its changes, while the other mounts keep serving', async () => {
    const victim = dirs[0]!;
    const pid = await workerOf(victim);
    const others = readAll(dirs.slice(1), 40, 0.05); // about 3 s of steady reads around the kill
    await sleep(200);
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (await run('cat', [`${at(victim)}/data/a.txt`, `${at(victim)}/new.txt`])).stdout === 'changed\nkept\n',
      { timeoutMs: 5000, intervalMs: 20, what: `${victim} to be served again` });
    const took = Date.now() - t0;
    expect(took).toBeLessThan(2000);
    expect(await others).toEqual([]);
    const m = (await mounts()).find((x) => x.dir === at(victim))!;
    expect(m).toMatchObject({ state: 'mounted', restarts: 1 });
    expect(m.pid).not.toBe(pid);
    expect((await mountsUnder(at(victim)))).toEqual([at(victim)]); // the dead mount is gone, not stacked under the new one
    const events = (await readFile(path.join(f.work, 'serve.log'), 'utf8')).split('\n').filter((l) => l.includes(at(victim)) && /worker-exit|cleanup|restart/.test(l));
    console.log(`worker replaced in ${took} ms\n${events.join('\n')}`);
  }, 60_000);

  it('answers malformed requests with a 4xx JSON error and keeps working', async () => {
    const raw = (text: string) => new Promise<string>((resolve, reject) => {
      const c = net.connect(sock, () => c.write(text)); // the service closes: each request says connection: close or is refused
      const got: Buffer[] = [];
      c.on('data', (b) => got.push(b));
      c.on('error', reject);
      c.on('close', () => resolve(Buffer.concat(got).toString()));
    });
    const req = (method: string, p: string, body?: string) =>
      raw(`${method} ${p} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body ?? '')}\r\n\r\n${body ?? ''}`);
    const cases: [Promise<string>, number][] = [
      [req('POST', '/mounts', '{"image":'), 400],
      [req('POST', '/mounts', '[1,2]'), 400],
      [req('POST', '/mounts', JSON.stringify({ image: f.ref, container: 'x', dir: '/tmp' })), 400],
      [req('POST', '/mounts', JSON.stringify({ image: f.ref, dir: 'relative' })), 400],
      [req('POST', '/mounts', JSON.stringify({ image: f.ref, dir: '/tmp', readOnly: 'yes' })), 400],
      [req('POST', '/mounts', JSON.stringify({ image: 'no/such:image', dir: at('spare'), readOnly: true })), 404],
      [req('POST', '/mounts', JSON.stringify({ image: f.ref, dir: path.join(f.work, 'serve.log'), readOnly: true })), 400],
      [req('POST', '/mounts', JSON.stringify({ image: f.ref, dir: at('m05'), readOnly: true })), 409],
      [req('POST', '/mounts', 'x'.repeat(100_000)), 413],
      [req('DELETE', '/mounts'), 400],
      [req('DELETE', `/mounts?dir=${encodeURIComponent(path.join(f.work, 'nothing'))}`), 404],
      [req('PATCH', '/mounts'), 405],
      [req('GET', '/nope'), 404],
      [raw('\x00\x01garbage\r\n\r\n'), 400],
      [raw('GET /info HTTP/1.1\r\ncontent-length: -5\r\n\r\n'), 400],
    ];
    for (const [p, status] of cases) {
      const text = await p;
      expect(text, text).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).message).toEqual(expect.any(String));
    }
    expect((await api.info()).pid).toBe(svc!.pid);
    expect(await mountsUnder(at('spare'))).toEqual([]);
    expect(await allMounted()).toBeTruthy();
    expect(await readAll(dirs.slice(0, 3), 1)).toEqual([]);
  }, 60_000);

  it('refuses the socket to a user outside its owner and group (uid 1000)', async () => {
    const r = await run('setpriv', ['--reuid', '1000', '--regid', '1000', '--clear-groups', process.execPath, '-e',
      `require('http').get({ socketPath: process.argv[1], path: '/info' }, (r) => console.log('HTTP', r.statusCode))
        .on('error', (e) => console.log(e.code))`, sock], { timeout: 20_000 });
    expect(r.stdout.trim()).toBe('EACCES');
    expect((await api.info()).pid).toBe(svc!.pid);
  }, 30_000);

  it('after kill -9 of the service (and of some workers), a new service brings every mount back', async () => {
    const before = await mounts();
    const dying = [dirs[1]!, dirs[2]!];
    process.kill(svc!.pid, 'SIGKILL');
    for (const d of dying) process.kill(before.find((m) => m.dir === at(d))!.pid!, 'SIGKILL');
    expect((await svc!.exited).signal).toBe('SIGKILL');
    svc = await startService();
    const after = await waitFor(() => allMounted(), { timeoutMs: 20_000, what: 'every mount back' });
    for (const m of after) {
      const old = before.find((b) => b.dir === m.dir)!;
      if (dying.some((d) => at(d) === m.dir)) expect(m.pid).not.toBe(old.pid); // remounted
      else expect(m.pid).toBe(old.pid); // adopted: it never stopped serving
    }
    expect((await mountsUnder(f.work)).sort()).toEqual(dirs.map(at)); // one mount each: no dead one left below
    expect(await readAll(dirs, 2)).toEqual([]);
    expect((await cli(['ps'])).stdout.match(/Mounted at /g)).toHaveLength(N);
  }, 90_000);

  it('on SIGTERM unmounts everything and exits 0, keeping the mounts for the next start', async () => {
    const workers = (await mounts()).map((m) => m.pid!);
    process.kill(svc!.pid, 'SIGTERM');
    expect(await svc!.exited).toEqual({ code: 0, signal: null });
    expect(await mountsUnder(f.work)).toEqual([]);
    expect(await Promise.all(workers.map(pidAlive))).toEqual(workers.map(() => false));
    expect((await cli(['ps'])).stdout.match(/Mounted at /g)).toBeNull(); // nothing is mounted now
    expect(await f.cliOk(['--socket', sock, 'info'])).toMatch(/^Service: not running \(direct mode\)$/m);
    svc = await startService();
    await waitFor(() => allMounted(), { timeoutMs: 20_000, what: 'every mount restored' });
    expect(await readAll(dirs, 1)).toEqual([]);
  }, 90_000);

  it('umount through the service stops the worker and forgets the mount; rm -f does too', async () => {
    const ms = await mounts();
    const [first, ...rest] = ms;
    expect((await cli(['rm', '-f', first!.containerId!])).code).toBe(0);
    expect(await pidAlive(first!.pid!)).toBe(false);
    const outs = await Promise.all(rest.map((m) => cli(['umount', m.dir])));
    for (const r of outs) expect(r.stderr).toBe('');
    expect(await mounts()).toEqual([]);
    expect(await mountsUnder(f.work)).toEqual([]);
    expect(await strayWorkers()).toEqual([]);
    process.kill(svc!.pid, 'SIGTERM');
    expect(await svc!.exited).toEqual({ code: 0, signal: null });
    svc = await startService(); // nothing is kept any more
    expect(await mounts()).toEqual([]);
    process.kill(svc.pid, 'SIGTERM');
    expect(await svc.exited).toEqual({ code: 0, signal: null });
  }, 90_000);
});
