// Least privilege in `lamina run`, and images that try to make the host read its own files:
// each attack here worked before lamina-exec dropped privileges and image paths were resolved
// inside the image root (openat2 RESOLVE_IN_ROOT).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canMount, fixture, type Fixture } from '../helpers/containers.js';
import { writeLayerTar } from '../helpers/images.js';
import { nativeBinary } from '../../src/native-binary.js';
import { expectNothingLeft, webRootfs } from '../helpers/live-containers.js';
import { haveCommand, run, waitFor } from '../helpers/proc.js';

const tools = await Promise.all(['umoci', 'unshare', 'setpriv', 'nsenter', 'pasta'].map(haveCommand));
/** docker's 14 default capabilities as /proc/PID/status shows them. */
const DOCKER_CAPS = '00000000a80425fb';

let f: Fixture;
const runIt = (...args: string[]) => f.cli(['run', '--rm', ...args], 60_000);
async function status(...args: string[]): Promise<Record<string, string>> {
  const r = await runIt(...args, f.ref, 'cat', '/proc/self/status');
  expect(r.code, r.stderr).toBe(0);
  return Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => l.split(/:\s*/, 2) as [string, string]));
}

describe.runIf(canMount && tools.every(Boolean))('least privilege in run', () => {
  beforeAll(async () => {
    f = await fixture('lamina-run-security-', [webRootfs], 'lamina.test/secure:1');
  }, 600_000);
  afterEach(() => expectNothingLeft(f.root, f.work, (a) => f.cli(a)), 60_000);
  afterAll(async () => {
    await f?.cleanup();
  }, 60_000);

  it("keeps docker's 14 capabilities for root and none for another user", async () => {
    const root = await status();
    expect([root.CapInh, root.CapPrm, root.CapEff, root.CapBnd, root.CapAmb]).toEqual(['0000000000000000', DOCKER_CAPS, DOCKER_CAPS, DOCKER_CAPS, '0000000000000000']);
    const user = await status('-u', '1000');
    expect([user.CapPrm, user.CapEff, user.CapBnd]).toEqual(['0000000000000000', '0000000000000000', DOCKER_CAPS]);
    const sysAdmin = await runIt(f.ref, 'sh', '-c', 'mkdir /m && mount -t tmpfs none /m');
    expect(sysAdmin.code).not.toBe(0);
    expect(sysAdmin.stderr).toMatch(/permission denied|not permitted/i);
  }, 60_000);

  it('--cap-drop, --cap-add and --privileged change the set', async () => {
    expect((await status('--cap-drop', 'CHOWN')).CapEff).toBe('00000000a80425fa');
    expect((await status('--cap-add', 'cap_net_admin')).CapEff).toBe('00000000a80435fb');
    expect((await status('--cap-drop', 'ALL', '--cap-add', 'KILL')).CapEff).toBe('0000000000000020');
    const host = (await readFile('/proc/self/status', 'utf8')).match(/CapBnd:\s*(\w+)/)![1];
    expect((await status('--privileged')).CapEff).toBe(host);
    const chown = await runIt('--cap-drop', 'CHOWN', f.ref, 'sh', '-c', 'touch /tmp/x && chown 1000 /tmp/x');
    expect(chown.stderr).toMatch(/Operation not permitted/);
    const bad = await runIt('--cap-add', 'NOT_A_CAP', f.ref, 'true');
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/invalid capability "NOT_A_CAP"/);
  }, 60_000);

  it('sets no_new_privs only with --security-opt no-new-privileges; a seccomp filter unless unconfined', async () => {
    const plain = await status();
    expect(plain.NoNewPrivs).toBe('0'); // setuid programs in images keep working, as in docker
    expect(plain.Seccomp).toBe('2');
    const nnp = await status('--security-opt', 'no-new-privileges');
    expect(nnp.NoNewPrivs).toBe('1');
    expect((await status('--security-opt', 'seccomp=unconfined')).Seccomp).toBe('0');
    const userns = await runIt(f.ref, 'unshare', '-U', 'true');
    expect(userns.code).not.toBe(0);
    expect(userns.stderr).toMatch(/Operation not permitted/);
    expect((await runIt('--security-opt', 'seccomp=unconfined', f.ref, 'unshare', '-U', 'true')).code).toBe(0);
    expect((await runIt('--security-opt', 'apparmor=x', f.ref, 'true')).stderr).toMatch(/invalid --security-opt "apparmor=x"/);
  }, 60_000);

  it("masks docker's kernel paths and makes /proc/sys read-only", async () => {
    const r = await runIt(f.ref, 'sh', '-c', 'wc -c < /proc/keys; ls /sys/firmware | wc -l; echo 1 > /proc/sys/vm/drop_caches');
    expect(r.stdout).toBe('0\n0\n');
    expect(r.stderr).toMatch(/Read-only file system/);
    const priv = await runIt('--privileged', f.ref, 'sh', '-c', 'ls /sys/firmware | wc -l');
    expect(Number(priv.stdout)).toBe((await readdir('/sys/firmware')).length);
  }, 60_000);

  it('pivots into the container: its mount namespace has no host root left', async () => {
    const id = (await f.cliOk(['run', '-d', f.ref, 'sleep', '1234'])).trim();
    const pid = await waitFor(async () => {
      for (const name of await readdir('/proc')) {
        const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
        if (cmd === 'sleep\x001234\x00') return Number(name);
      }
      return undefined;
    }, { what: 'the container process' });
    // Entering the namespace lands on its root: the image's, as pivot_root left it (chroot would leave the host's).
    const r = await run('nsenter', ['-t', String(pid), '-m', '/bin/sh', '-c', 'cat /www/index.html; test -e /usr/bin/nsenter || echo no-host-tools']);
    expect(r.stdout).toBe('<h1>hello from lamina</h1>\nno-host-tools\n');
    await f.cliOk(['rm', '-f', id]);
  }, 60_000);

  describe('image paths stay inside the image', () => {
    /** An image whose /etc/passwd is `passwd` (a tar entry spec). */
    async function imageWithPasswd(name: string, passwd: Parameters<typeof writeLayerTar>[1][number]): Promise<string> {
      const tar = path.join(f.work, `${name}.tar`);
      await writeLayerTar(tar, [{ name: 'bin/', type: 'directory' }, { name: 'bin/busybox', content: await readFile('/bin/busybox'), mode: 0o755 },
        { name: 'bin/id', type: 'symlink', linkname: 'busybox' }, { name: 'etc/', type: 'directory' }, passwd]);
      await f.cliOk(['import', tar, `lamina.test/${name}:1`]);
      return `lamina.test/${name}:1`;
    }

    it('never reads the host file an image links its /etc/passwd to (absolute, relative, /etc/shadow)', async () => {
      const secret = path.join(f.work, 'host-passwd');
      await writeFile(secret, 'hostonly:x:4242:4242::/h:/bin/sh\n');
      const absolute = await imageWithPasswd('abs', { name: 'etc/passwd', type: 'symlink', linkname: secret });
      const relative = await imageWithPasswd('rel', { name: 'etc/passwd', type: 'symlink', linkname: `../../../../../../../..${secret}` });
      for (const img of [absolute, relative]) {
        const r = await runIt('-u', 'hostonly', img, 'id', '-u');
        expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 125, stdout: '' });
        expect(r.stderr).toMatch(/unable to find user hostonly: no matching entries in passwd file/);
      }
      const shadow = await imageWithPasswd('shadow', { name: 'etc/passwd', type: 'symlink', linkname: '/etc/shadow' });
      const r = await runIt('-u', 'root', shadow, 'id', '-u');
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 125, stdout: '' });
      expect(r.stderr).toMatch(/unable to find user root/);
    }, 60_000);

    it('refuses an /etc/passwd that is not a regular file instead of hanging on it', async () => {
      const fifo = await imageWithPasswd('fifo', { name: 'etc/passwd', type: 'fifo' });
      const r = await runIt('-u', 'root', fifo, 'id', '-u');
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/reading \/etc\/passwd in the container: not a regular file/);
    }, 60_000);

    it('exec -u reads the running container\'s passwd inside its own root', async () => {
      const secret = path.join(f.work, 'host-passwd-exec');
      await writeFile(secret, 'hostonly:x:4343:4343::/h:/bin/sh\n');
      const id = (await f.cliOk(['run', '-d', f.ref, 'sh', '-c', `rm /etc/passwd && ln -s ${secret} /etc/passwd && exec sleep 600`])).trim();
      await waitFor(async () => (await f.cli(['exec', id, 'test', '-L', '/etc/passwd'])).code === 0, { what: 'the link in the container' });
      const r = await f.cli(['exec', '-u', 'hostonly', id, 'id', '-u']);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/unable to find user hostonly/);
      await f.cliOk(['rm', '-f', id]);
    }, 60_000);
  });

  describe('user and group IDs', () => {
    it('refuses an ID past 2^32-2 instead of wrapping it around to root', async () => {
      for (const u of ['4294967296', '4294967295', '1000:4294967296']) {
        const r = await runIt('-u', u, f.ref, 'id', '-u');
        expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 125, stdout: '' });
        expect(r.stderr).toMatch(/invalid (user|group) ID/);
      }
    }, 60_000);

    it('lamina-exec refuses a uid or gid that is not a plain decimal number', async () => {
      const exec = nativeBinary('lamina-exec');
      const env = path.join(f.work, 'env');
      await writeFile(env, 'PATH=/usr/bin:/bin\0');
      for (const [flag, value] of [['--uid', '12abc'], ['--uid', 'abc'], ['--uid', '-1'], ['--uid', ' 1'], ['--uid', ''], ['--gid', '0x10'], ['--uid', '99999999999']]) {
        const r = await run(exec, ['init', '--root', '/nonexistent', '--cwd', '/', '--env-file', env, flag!, value!, '--', '/usr/bin/id', '-u']);
        expect({ code: r.code, stdout: r.stdout }, `${flag} ${JSON.stringify(value)}`).toEqual({ code: 125, stdout: '' });
        expect(r.stderr).toMatch(new RegExp(`invalid ${flag!.slice(2)} "${value!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
      }
    }, 60_000);
  });
});
