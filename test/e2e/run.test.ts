// `lamina run` end to end: the built CLI runs commands from a busybox image (config with Env,
// WorkingDir and Cmd) in its own mount/PID/UTS/IPC namespaces on a container mount. Every test
// must leave no lamina mount and no mount at all under its store, and the host mount table as it was.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseMountInfo } from '../../src/fuse/mountinfo.js';
import { canMount, mountsUnder, shOk } from '../helpers/containers.js';
import { buildOciLayout, busyboxRootfs, writeLayerTar } from '../helpers/images.js';
import { BIN, cliOn, tempDir } from '../helpers/lamina.js';
import { haveCommand, pidAlive, run, waitFor, type RunResult } from '../helpers/proc.js';

const tools = await Promise.all(['umoci', 'unshare', 'setpriv', 'script'].map(haveCommand));
const IMG = 'lamina.test/run:1';

let work: string;
let root: string;
let runDir: string;
let removeWork: () => Promise<void>;
const env = () => ({ LAMINA_RUN_DIR: runDir });
const { cli, cliOk } = cliOn(() => root, env);
/** `lamina run ARGS...`. */
const runIt = (...args: string[]) => cli(['run', ...args]);
/** Checks an exit code and stdout, showing stderr when they differ. */
function expectResult(r: RunResult, code: number, stdout: string): void {
  expect({ code: r.code, stdout: r.stdout }, `stderr: ${r.stderr}`).toEqual({ code, stdout });
}
/** `lamina run ARGS...` that must exit 0; returns its stdout. */
async function runOut(...args: string[]): Promise<string> {
  const r = await runIt(...args);
  if (r.code !== 0) throw new Error(`lamina run ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------
// Mount bookkeeping

const mountTable = async () => parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
/** Other test sessions mount under the temp dirs; everything else on the host must stay as it was. */
const hostMounts = async () => (await mountTable())
  .filter((m) => !m.mountPoint.startsWith(`${tmpdir()}/`) && !m.mountPoint.startsWith('/var/tmp/'))
  .map((m) => `${m.fstype} ${m.source} ${m.mountPoint}`).sort();
/** lamina mounts of this test file (all of its mounts live under `work`). */
const ourLaminaMounts = async () => (await mountTable())
  .filter((m) => m.fstype === 'fuse.lamina' && m.mountPoint.startsWith(`${work}/`)).map((m) => m.mountPoint);
const containerIds = async () => readdir(path.join(root, 'containers')).catch(() => [] as string[]);
/** The 12-hex ID of the container named `name`. */
async function idOf(name: string): Promise<string> {
  const rows = (await cliOk(['ps', '-a', '--format', 'json'])).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const row = rows.find((r: { Names: string }) => r.Names === name);
  if (!row) throw new Error(`no container ${name}`);
  return row.ID as string;
}

// ---------------------------------------------------------------------------
// Long-running children (signals, pty), always stopped by PID

interface Child {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitOut(re: RegExp, timeoutMs?: number): Promise<void>;
}
const children = new Set<ChildProcess>();

function start(cmd: string, args: string[]): Child {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env() }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  proc.stdin!.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('close', (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
    }));
  return {
    proc, exited, out: () => out, err: () => err,
    waitOut: (re, timeoutMs = 30_000) => waitFor(() => re.test(out), { timeoutMs, what: `${re} in the output` }).then(
      () => undefined,
      (e: Error) => {
        throw new Error(`${e.message}; stdout: ${JSON.stringify(out)}, stderr: ${JSON.stringify(err)}`);
      }),
  };
}

/** SIGKILLs each child started here and everything below it (a pty's lamina, its sandbox), by PID. */
async function stopChildren(): Promise<void> {
  for (const c of [...children]) {
    const all = await processes();
    const pids = c.pid ? [c.pid, ...descendants(all, c.pid).filter((p) => !p.cmd.includes('lamina-mountd')).map((p) => p.pid)] : [];
    for (const pid of pids) if (await pidAlive(pid)) process.kill(pid, 'SIGKILL');
    await new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once('close', r)));
    children.delete(c);
  }
}

interface ProcInfo { pid: number; ppid: number; cmd: string }
async function processes(): Promise<ProcInfo[]> {
  const out: ProcInfo[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (!stat) continue;
    out.push({ pid: Number(name), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), cmd: cmd.split('\0').join(' ').trim() });
  }
  return out;
}
function descendants(all: ProcInfo[], pid: number): ProcInfo[] {
  const kids = all.filter((p) => p.ppid === pid);
  return kids.flatMap((k) => [k, ...descendants(all, k.pid)]);
}

// ---------------------------------------------------------------------------

/** busybox, /work with files to change, a non-executable script, and an image config with Env, WorkingDir and Cmd. */
async function imageLayer(r: string): Promise<void> {
  await busyboxRootfs(r);
  await mkdir(path.join(r, 'work'));
  await writeFile(path.join(r, 'work/keep.txt'), 'keep\n');
  await writeFile(path.join(r, 'work/gone.txt'), 'gone\n');
  await writeFile(path.join(r, 'work/old.txt'), 'old\n');
  await writeFile(path.join(r, 'work/notexec.sh'), '#!/bin/sh\necho ran\n');
  await chmod(path.join(r, 'work/notexec.sh'), 0o644);
}

describe.runIf(canMount && tools.every(Boolean))('lamina run', () => {
  let baseline: string[];

  beforeAll(async () => {
    ({ dir: work, cleanup: removeWork } = await tempDir('lamina-run-'));
    await chmod(work, 0o755);
    root = path.join(work, 'store');
    runDir = path.join(work, 'run');
    const layout = path.join(work, 'layout');
    await buildOciLayout(layout, [imageLayer], {
      timeout: 300_000,
      config: { env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'FOO=bar'], workdir: '/work', cmd: ['echo', 'from-cmd'] },
    });
    const id = /sha256:[0-9a-f]{64}/.exec(await cliOk(['load', '-i', layout]))![0];
    await cliOk(['tag', id, IMG]);
  }, 600_000);

  beforeEach(async () => {
    baseline = await hostMounts();
  });

  afterEach(async () => {
    await stopChildren();
    const leftLamina = await ourLaminaMounts();
    const left = await mountsUnder(work);
    // So that one failure does not cascade: lamina umount stops the servers, umount -l is the last resort.
    for (const m of leftLamina) await cli(['umount', m]);
    for (const m of (await mountsUnder(work)).reverse()) await run('umount', ['-l', m]);
    expect(leftLamina).toEqual([]);
    expect(left).toEqual([]);
    expect(await hostMounts()).toEqual(baseline);
  }, 60_000);

  afterAll(async () => {
    await stopChildren();
    if (!work) return;
    for (const m of (await mountsUnder(work)).reverse()) await run('umount', ['-l', m]);
    expect(await mountsUnder(work)).toEqual([]);
    await removeWork();
  }, 60_000);

  describe('the process', () => {
    it('prints, and exits with the command status', async () => {
      const r = await runIt('--rm', IMG, 'echo', 'hello');
      expectResult(r, 0, 'hello\n');
      expect((await runIt('--rm', IMG, 'sh', '-c', 'exit 3')).code).toBe(3);
      expectResult(await runIt('--rm', IMG), 0, 'from-cmd\n'); // the image's Cmd
    }, 60_000);

    it('exits 127 for a missing command and 126 for a non-executable file, naming them', async () => {
      const missing = await runIt('--rm', IMG, 'no-such-cmd');
      expect(missing.code).toBe(127);
      expect(missing.stderr).toMatch(/no-such-cmd: No such file or directory/);
      const notExec = await runIt('--rm', IMG, '/work/notexec.sh');
      expect(notExec.code).toBe(126);
      expect(notExec.stderr).toMatch(/\/work\/notexec.sh: Permission denied/);
    }, 60_000);

    it('keeps the container environment away from the host tools that set up the sandbox', async () => {
      // A preload that does not exist makes every dynamically linked host tool complain on stderr.
      const r = await runIt('--rm', '-e', 'LD_PRELOAD=/no/such/lib.so', IMG, 'sh', '-c', 'echo $LD_PRELOAD');
      expect(r.stderr, 'host tools must not see LD_PRELOAD').not.toMatch(/ld\.so|cannot be preloaded/);
      expectResult(r, 0, '/no/such/lib.so\n');
    }, 60_000);

    it('refuses to mount over a symlink that would lead out of the image', async () => {
      const outside = path.join(work, 'outside-target');
      const layer = path.join(work, 'evil-layer.tar');
      await writeLayerTar(layer, [{ name: 'etc/', type: 'directory' }, { name: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' },
        { name: 'proc', type: 'symlink', linkname: outside }]);
      await cliOk(['import', layer, 'lamina.test/evil:1']);
      const r = await runIt('--rm', 'lamina.test/evil:1', 'true');
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/cannot mount on \/proc: \/proc is a symbolic link/);
      await expect(stat(outside)).rejects.toThrow(/ENOENT/);
    }, 60_000);

    it("applies the image's Env and WorkingDir, and nothing of the host's", async () => {
      const r = await runIt('--rm', IMG, 'env');
      expect(r.code).toBe(0);
      const vars = r.stdout.trim().split('\n').sort();
      expect(vars).toEqual(['FOO=bar', 'HOME=/root', expect.stringMatching(/^HOSTNAME=[0-9a-f]{12}$/), 'PATH=/usr/local/bin:/usr/bin:/bin']);
      expect(await runOut('--rm', IMG, 'pwd')).toBe('/work\n');
    }, 60_000);

    it('-e and -w override the image; a missing workdir is created', async () => {
      const r = await runIt('--rm', '-e', 'FOO=baz', '-e', 'NEW=1', '-w', '/tmp', IMG, 'sh', '-c', 'echo $FOO $NEW; pwd');
      expectResult(r, 0, 'baz 1\n/tmp\n');
      expect(await runOut('--rm', '-w', '/not/yet', IMG, 'pwd')).toBe('/not/yet\n');
    }, 60_000);

    it('-u runs as that user and group', async () => {
      expect(await runOut('--rm', '-u', '1000', IMG, 'id', '-u')).toBe('1000\n');
      expect(await runOut('--rm', '-u', '1000:1000', IMG, 'id')).toBe('uid=1000(user) gid=1000(user)\n');
      const named = await runIt('--rm', '-u', 'user', IMG, 'sh', '-c', 'id -un; echo $HOME; touch /root/x');
      expectResult(named, 1, 'user\n/home/user\n');
      expect(named.stderr).toMatch(/Permission denied/);
      const bad = await runIt('--rm', '-u', 'nobody-here', IMG, 'id');
      expect(bad.code).toBe(125);
      expect(bad.stderr).toMatch(/unable to find user nobody-here/);
    }, 60_000);

    it("--entrypoint replaces the entrypoint and drops the image's Cmd (docker's rule)", async () => {
      expectResult(await runIt('--rm', '--entrypoint', 'echo', IMG), 0, '\n');
      expectResult(await runIt('--rm', '--entrypoint', '/bin/echo', IMG, 'a', 'b'), 0, 'a b\n');
    }, 60_000);
  });

  describe('the namespaces', () => {
    it('runs as PID 1 with its own /proc, the container ID as host name, and --hostname', async () => {
      const r = await runIt('--name', 'ns', IMG, 'sh', '-c', 'echo $$; hostname; ls /proc | grep "^[0-9]*$"');
      expect(r.code).toBe(0);
      const [pid, host, ...pids] = r.stdout.trim().split('\n');
      expect(pid).toBe('1');
      expect(host).toBe(await idOf('ns'));
      expect(pids).toContain('1');
      expect(pids.length).toBeLessThan(8); // sh, ls, grep: not the host's processes
      expect(await runOut('--rm', '--hostname', 'box', IMG, 'sh', '-c', 'hostname; echo $HOSTNAME; grep box /etc/hosts'))
        .toBe('box\nbox\n127.0.1.1\tbox\n');
      await cliOk(['rm', 'ns']);
    }, 60_000);

    it('mounts a read-only /sys, a small /dev, and /etc/hosts and /etc/resolv.conf', async () => {
      const sys = await runIt('--rm', IMG, 'sh', '-c', 'test -d /sys/kernel && touch /sys/kernel/x');
      expect(sys.code).toBe(1);
      expect(sys.stderr).toMatch(/Read-only file system/);
      const dev = await runIt('--rm', IMG, 'sh', '-c',
        'ls /dev; echo x > /dev/null; head -c 5 /dev/zero | wc -c; head -c 7 /dev/urandom | wc -c; test -c /dev/tty && echo tty');
      expect(dev.code).toBe(0);
      const lines = dev.stdout.trim().split('\n');
      expect(lines).toEqual(expect.arrayContaining(['null', 'zero', 'urandom', 'tty', 'pts', 'shm', '5', '7']));
      expect(lines.length).toBeLessThan(25);
      const etc = await runIt('--rm', IMG, 'sh', '-c', 'test -f /etc/hosts && test -f /etc/resolv.conf && grep -c localhost /etc/hosts');
      expectResult(etc, 0, '2\n');
    }, 60_000);

    it("leaves the host's mount table as it was", async () => {
      const before = await mountTable();
      const r = await runIt('--rm', IMG, 'sh', '-c', 'grep -c . /proc/mounts');
      expect(r.code).toBe(0);
      expect(Number(r.stdout)).toBeGreaterThan(5); // proc, sysfs, /dev... inside
      const after = await mountTable();
      const key = (m: { mountPoint: string }) => m.mountPoint;
      // Other sessions may mount elsewhere meanwhile: nothing of ours, and nothing outside the temp dirs, changed.
      expect(after.filter((m) => m.mountPoint.startsWith(work)).map(key)).toEqual([]);
      expect(await hostMounts()).toEqual(baseline);
      expect(before.filter((m) => m.mountPoint.startsWith(work))).toEqual([]);
    }, 60_000);
  });

  describe('the container', () => {
    it('records what the command changed: lamina diff, then a read-write mount of the container', async () => {
      const r = await runIt('--name', 'changes', IMG, 'sh', '-c',
        'echo new > new.txt && echo more >> keep.txt && rm gone.txt && mv old.txt renamed.txt && mkdir -p /var/d && echo x > /var/d/f');
      expect(r.code).toBe(0);
      expect(await cliOk(['diff', 'changes'])).toBe([
        'C /var', 'A /var/d', 'A /var/d/f',
        'C /work', 'D /work/gone.txt', 'C /work/keep.txt', 'A /work/new.txt', 'D /work/old.txt', 'A /work/renamed.txt', '',
      ].join('\n'));
      const dir = path.join(work, 'mnt-changes');
      await mkdir(dir);
      await cliOk(['mount', 'changes', dir]);
      try {
        expect(await shOk(`cd ${dir}/work && ls && cat keep.txt new.txt renamed.txt /${dir}/var/d/f`))
          .toBe('keep.txt\nnew.txt\nnotexec.sh\nrenamed.txt\nkeep\nmore\nnew\nold\nx\n');
        // The run's mountpoint scaffolding is gone again: the image has no /etc/hosts.
        expect(await shOk(`ls ${dir}/etc`)).toBe('group\npasswd\n');
      } finally {
        await cliOk(['umount', dir]);
      }
      // A second run sees the first one's changes.
      expect(await runOut('--rm', IMG, 'cat', '/work/keep.txt')).toBe('keep\n');
      await cliOk(['rm', 'changes']);
    }, 60_000);

    it('--rm removes the container; without it ps -a lists it as Exited (0); a taken --name is a conflict', async () => {
      const before = await containerIds();
      expect((await runIt('--rm', IMG, 'true')).code).toBe(0);
      expect(await containerIds()).toEqual(before);
      expectResult(await runIt('--name', 'kept', IMG, 'true'), 0, '');
      const id = await idOf('kept');
      expect(await cliOk(['ps', '-a'])).toMatch(new RegExp(`^${id} +${IMG.replace(/[.]/g, '\\.')} +"true" +.* ago +Exited \\(0\\) .* ago +kept$`, 'm'));
      expect(await cliOk(['ps', '-q'])).toBe(''); // neither running nor mounted any more
      const again = await runIt('--name', 'kept', IMG, 'echo', 'never');
      expect(again.code).toBe(125);
      expect(again.stdout).toBe('');
      expect(again.stderr).toMatch(/Conflict\. The container name "\/kept" is already in use by container "[0-9a-f]{64}"/);
      expect((await containerIds()).length).toBe(before.length + 1);
      await cliOk(['rm', 'kept']);
      expect(await containerIds()).toEqual(before);
    }, 60_000);
  });

  describe('the terminal', () => {
    it('runs an interactive shell through a pty (-it)', async () => {
      const cmd = [process.execPath, BIN, '--root', root, 'run', '-it', '--rm', IMG, 'sh'].map((a) => `'${a}'`).join(' ');
      const c = start('script', ['-qefc', cmd, '/dev/null']);
      await c.waitOut(/\/work # /); // busybox's prompt (then a cursor position query)
      c.proc.stdin!.write('echo $((6*7))\n');
      await c.waitOut(/^42\r?$/m);
      c.proc.stdin!.write('exit\n');
      expect(await c.exited).toEqual({ code: 0, signal: null });
    }, 60_000);

    it('-i without a terminal passes stdin; -t without one fails with 125', async () => {
      expectResult(await cli(['run', '--rm', '-i', IMG, 'sh', '-c', 'read x; echo "got $x"; exit 5'], { input: 'hello\n' }), 5, 'got hello\n');
      expectResult(await cli(['run', '--rm', '-i', IMG, 'sh'], { input: 'echo $((6*7))\nexit 4\n' }), 4, '42\n');
      // Without -i the command gets no stdin at all.
      expectResult(await cli(['run', '--rm', IMG, 'sh', '-c', 'cat; echo "[$?]"'], { input: 'ignored\n' }), 0, '[0]\n');
      const t = await runIt('--rm', '-t', IMG, 'true');
      expect(t.code).toBe(125);
      expect(t.stderr).toMatch(/the input device is not a TTY/);
    }, 60_000);
  });

  describe('signals', () => {
    for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
      it(`forwards ${sig} to the command and exits with its status`, async () => {
        const name = sig.slice(3);
        const before = await containerIds();
        const c = start(process.execPath, [BIN, '--root', root, 'run', '--rm', IMG, 'sh', '-c',
          `trap "echo got ${name}; exit ${code}" ${name}; echo ready; while :; do sleep 0.1; done`]);
        await c.waitOut(/^ready$/m);
        process.kill(c.proc.pid!, sig);
        expect(await c.exited).toEqual({ code, signal: null });
        expect(c.out()).toBe(`ready\ngot ${name}\n`);
        expect(await containerIds()).toEqual(before); // --rm still removed it
      }, 60_000);
    }
  });

  describe('volumes', () => {
    it('binds a host directory read-write or read-only, and only its mountpoint shows in diff', async () => {
      const host = path.join(work, 'vol');
      await mkdir(host);
      await writeFile(path.join(host, 'from-host'), 'hi\n');
      const rw = await runIt('--name', 'vol', '-v', `${host}:/data`, IMG, 'sh', '-c',
        'cat /data/from-host; echo inside > /data/from-ctr; mkdir /data/sub');
      expectResult(rw, 0, 'hi\n');
      expect(await readFile(path.join(host, 'from-ctr'), 'utf8')).toBe('inside\n');
      expect(await cliOk(['diff', 'vol'])).toBe('A /data\n');
      const ro = await runIt('--rm', '-v', `${host}:/data:ro`, IMG, 'sh', '-c', 'cat /data/from-ctr; touch /data/nope');
      expect(ro.code).toBe(1);
      expect(ro.stdout).toBe('inside\n');
      expect(ro.stderr).toMatch(/Read-only file system/);
      expect((await readdir(host)).sort()).toEqual(['from-ctr', 'from-host', 'sub']);
      const bad = await runIt('--rm', '-v', 'relative:/data', IMG, 'true');
      expect(bad.code).toBe(125);
      expect(bad.stderr).toMatch(/invalid volume "relative:\/data": both paths must be absolute/);
      await cliOk(['rm', 'vol']);
    }, 60_000);
  });

  describe('failure', () => {
    it('SIGKILL of lamina run leaves the container running, as docker does; stop ends it', async () => {
      const c = start(process.execPath, [BIN, '--root', root, 'run', '--name', 'client', IMG, 'sh', '-c', "trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done"]);
      await c.waitOut(/^ready$/m);
      process.kill(c.proc.pid!, 'SIGKILL');
      expect(await c.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(await cliOk(['ps'])).toMatch(/ Up .* client$/m);
      expect(await cliOk(['stop', 'client'])).toBe('client\n');
      expect(await cliOk(['ps', '-a'])).toMatch(/ Exited \(0\) .* client$/m);
      expect(await ourLaminaMounts()).toEqual([]);
      await cliOk(['rm', 'client']);
    }, 60_000);

    it("SIGKILL of the container's monitor ends its processes; ps shows Exited (255) and the mount is released", async () => {
      const before = await containerIds();
      const c = start(process.execPath, [BIN, '--root', root, 'run', '--name', 'killed', IMG, 'sh', '-c', 'echo ready; exec sleep 37']);
      await c.waitOut(/^ready$/m);
      const id = await idOf('killed');
      const monitor = (await processes()).find((p) => p.cmd.startsWith(`lamina-monitor ${id}`));
      expect(monitor).toBeDefined();
      const tree = await waitFor(async () => {
        const t = descendants(await processes(), monitor!.pid);
        return t.some((p) => p.cmd === 'sleep 37') && t;
      }, { what: 'sleep 37 to run' });
      const server = tree.find((p) => p.cmd.includes('lamina-mountd'));
      const sandbox = tree.filter((p) => p !== server);
      expect(sandbox.map((p) => p.cmd)).toEqual(expect.arrayContaining(['sleep 37']));
      const killedAt = Date.now();
      process.kill(monitor!.pid, 'SIGKILL');
      // The namespace dies with its monitor (parent-death signals), so nothing keeps running in it.
      await waitFor(async () => {
        const now = await processes();
        return sandbox.every((p) => !now.some((q) => q.pid === p.pid && q.cmd === p.cmd && q.cmd !== ''));
      }, { what: 'the sandbox processes to end' });
      expect(Date.now() - killedAt).toBeLessThan(10_000); // long before sleep 37 would end
      expect((await c.exited).code).not.toBe(0); // the client lost its container
      expect(await cliOk(['ps', '-a'])).toMatch(new RegExp(`^${id} .* Exited \\(255\\) .* killed$`, 'm'));
      expect(await ourLaminaMounts()).toEqual([]); // ps found the monitor gone and released its mount
      await cliOk(['rm', 'killed']);
      expect(await containerIds()).toEqual(before);
    }, 60_000);
  });
});
