// Mount points are taken as given, never through a symlink: `lamina mount IMG LINK` used to
// mount on the link's target while every later lookup used the link's path, leaving a dead
// ENOTCONN mount behind. A symlink is refused before anything is created or mounted, in
// direct mode and through the service; symlinks in the parent path are resolved as before.
import { spawn } from 'node:child_process';
import { mkdir, open, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ServiceClient } from '../../src/service/client.js';
import { canMount, mountsUnder, useFixture, type Fixture } from '../helpers/containers.js';
import { BIN } from '../helpers/lamina.js';
import { pidAlive, waitFor } from '../helpers/proc.js';

async function layer(r: string): Promise<void> {
  await mkdir(path.join(r, 'data'), { recursive: true });
  await writeFile(path.join(r, 'data/a.txt'), 'alpha\n');
}

describe.runIf(canMount)('mount points', () => {
  let f: Fixture;
  let n = 0;
  useFixture('lamina-mountpoint-', [layer], (x) => (f = x), 300_000);
  /** A fresh real directory and a symlink to it. */
  async function linkedDir(): Promise<{ real: string; link: string }> {
    const real = path.join(f.work, `real-${++n}`);
    const link = path.join(f.work, `link-${n}`);
    await mkdir(real);
    await symlink(real, link);
    return { real, link };
  }
  const refused = (link: string, target: string) => `error: mountpoint ${link} is a symbolic link (to ${target}); give the directory itself\n`;


  it.each([[true], [false]])('refuses a symlink to a directory (read-only %s) and mounts nothing, creates nothing', async (readOnly) => {
    const { real, link } = await linkedDir();
    const r = await f.cli(['mount', ...(readOnly ? ['--read-only'] : []), f.ref, link], 30_000);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: refused(link, real) });
    expect(await mountsUnder(f.work)).toEqual([]);
    expect((await stat(real)).isDirectory()).toBe(true); // no dead mount: stat answers
    expect(await f.cliOk(['ps', '-aq'])).toBe('');
  }, 60_000);

  it('refuses dangling symlinks and symlinks to files with the same error', async () => {
    const dangling = path.join(f.work, 'dangling');
    await symlink(path.join(f.work, 'nowhere'), dangling);
    const file = path.join(f.work, 'file');
    await writeFile(file, 'x');
    const toFile = path.join(f.work, 'to-file');
    await symlink(file, toFile);
    for (const [link, target] of [[dangling, path.join(f.work, 'nowhere')], [toFile, file]]) {
      expect(await f.cli(['mount', '--read-only', f.ref, link!])).toMatchObject({ code: 1, stderr: refused(link!, target!) });
    }
    expect(await mountsUnder(f.work)).toEqual([]);
  }, 60_000);

  it('resolves symlinks in the parent path and unmounts through either path', async () => {
    const { real, link } = await linkedDir();
    await mkdir(path.join(real, 'mnt'));
    expect(await f.cli(['mount', '--read-only', f.ref, path.join(link, 'mnt')])).toMatchObject({ code: 0, stderr: '' });
    expect(await mountsUnder(f.work)).toEqual([path.join(real, 'mnt')]);
    expect((await f.cli(['umount', path.join(link, 'mnt')])).code).toBe(0);
    expect(await mountsUnder(f.work)).toEqual([]);
  }, 60_000);

  it('refuses a symlink through the service too', async () => {
    const sock = path.join(f.work, 'svc.sock');
    const log = await open(path.join(f.work, 'serve.log'), 'a');
    const child = spawn(process.execPath, [BIN, '--root', f.root, 'serve', '--socket', sock], {
      env: { ...process.env, LAMINA_RUN_DIR: f.runDir }, stdio: ['ignore', log.fd, log.fd],
    });
    await log.close();
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const api = new ServiceClient(sock);
      await waitFor(() => api.info().then((i) => i.pid === child.pid, () => false), { timeoutMs: 15_000, what: 'the service to answer' });
      const { real, link } = await linkedDir();
      const r = await f.cli(['--socket', sock, 'mount', f.ref, link], 30_000);
      expect(r).toMatchObject({ code: 1, stderr: refused(link, real) });
      // the service checks requests itself, whoever sends them
      for (const req of [{ dir: link, image: f.ref, readOnly: true }, { dir: link, image: f.ref }]) {
        await expect(api.mount(req)).rejects.toThrow(refused(link, real).slice('error: '.length, -1));
      }
      expect(await api.mounts()).toEqual([]);
      expect(await f.cliOk(['ps', '-aq'])).toBe('');
      expect(await mountsUnder(f.work)).toEqual([]);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await waitFor(async () => !(await pidAlive(child.pid!)), { what: 'the service to exit' });
    }
  }, 60_000);
});
