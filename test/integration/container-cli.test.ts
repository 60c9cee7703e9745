// Container commands end to end: create, ps, mount, umount, diff, rm, and rmi's refusal.
import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxRootfs } from '../helpers/images.js';
import { canMount, mountsUnder, sh, shOk, useFixture, type Fixture } from '../helpers/containers.js';

async function layer(r: string): Promise<void> {
  await busyboxRootfs(r);
  await mkdir(path.join(r, 'data/sub'), { recursive: true });
  await writeFile(path.join(r, 'data/a.txt'), 'alpha\n');
  await writeFile(path.join(r, 'data/gone.txt'), 'bye\n');
  await writeFile(path.join(r, 'data/sub/deep.txt'), 'deep\n');
}

describe.runIf(canMount)('container commands', () => {
  let f: Fixture;
  let n = 0;
  const newDir = () => path.join(f.work, `mnt-${++n}`);

  useFixture('lamina-container-cli-', [layer], (x) => (f = x));

  it('creates containers with a 64-hex ID, a given or docker-style name, and lists them', async () => {
    const id = (await f.cliOk(['create', '--name', 'web', f.ref])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const anon = (await f.cliOk(['create', f.ref])).trim();
    const dup = await f.cli(['create', '--name', 'web', f.ref]);
    expect(dup.code).toBe(125); // docker create fails with 125 too
    expect(dup.stderr).toMatch(/The container name "\/web" is already in use/);
    expect(await f.cliOk(['ps'])).toBe('CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n');
    const all = await f.cliOk(['ps', '-a']);
    expect(all).toMatch(new RegExp(`^${id.slice(0, 12)} +lamina.test/container:1 +.* ago +Created +web$`, 'm'));
    const rows = (await f.cliOk(['ps', '-a', '--format', 'json'])).trim().split('\n').map((l) => JSON.parse(l));
    const other = rows.find((r) => r.ID === anon.slice(0, 12));
    expect(other.Names).toMatch(/^[a-z]+_[a-z]+\d*$/);
    expect((await f.cliOk(['ps', '-aq'])).split('\n')).toEqual(expect.arrayContaining([id.slice(0, 12), anon.slice(0, 12)]));
    expect(await lstat(path.join(f.root, 'containers', id, 'upper'))).toBeTruthy();
    await f.cliOk(['rm', 'web', anon.slice(0, 8)]);
    await expect(lstat(path.join(f.root, 'containers', id))).rejects.toThrow(/ENOENT/);
    expect(await f.cliOk(['ps', '-aq'])).toBe('');
  });

  it('gives containers created at the same moment each its own name, and one of two racing for a name a conflict', async () => {
    const anon = await Promise.all(Array.from({ length: 24 }, () => f.cli(['create', f.ref])));
    expect(anon.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    const racing = await Promise.all([0, 1, 2].map(() => f.cli(['create', '--name', 'twin', f.ref])));
    expect(racing.map((r) => r.code).sort()).toEqual([0, 125, 125]);
    const names = (await f.cliOk(['ps', '-a', '--format', '{{.Names}}'])).trim().split('\n');
    expect(names).toHaveLength(25);
    expect(new Set(names).size).toBe(25);
    expect((await readdir(path.join(f.root, 'containers'))).length).toBe(25); // a refused create leaves no layer
    await f.cliOk(['rm', ...names]);
  }, 120_000);

  it('mounts a container read-write, shows it in ps, and keeps its changes across remounts', async () => {
    const id = (await f.cliOk(['create', '--name', 'keep', f.ref])).trim();
    const dir = newDir();
    expect(await f.mount('keep', dir)).toBe('');
    expect(await f.cliOk(['ps'])).toMatch(new RegExp(`^${id.slice(0, 12)} .* Mounted at ${dir} +keep$`, 'm'));
    await shOk(`echo changed > ${dir}/data/a.txt && echo new > ${dir}/new.txt`);
    await f.umount(dir);
    expect(await f.cliOk(['ps', '-a'])).toMatch(/Created +keep$/m);
    await f.mount(id.slice(0, 12), dir);
    expect(await shOk(`cat ${dir}/data/a.txt ${dir}/new.txt`)).toBe('changed\nnew\n');
    await f.umount(dir);
    await f.cliOk(['rm', 'keep']);
  });

  it('creates a container when mounting an image, and prints its ID', async () => {
    const dir = newDir();
    const id = (await f.mount(f.ref, dir)).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await shOk(`touch ${dir}/x`);
    expect((await f.cliOk(['ps', '-q'])).trim()).toBe(id.slice(0, 12));
    await f.umount(dir);
    await f.cliOk(['rm', id]);
  });

  it('refuses to rm a mounted container without -f; -f unmounts first and removes the layer', async () => {
    const dir = newDir();
    const id = (await f.mount(f.ref, dir)).trim();
    const r = await f.cli(['rm', id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot remove container [0-9a-f]{12}: it is mounted at/);
    expect(await mountsUnder(dir)).toEqual([dir]);
    expect(await f.cliOk(['rm', '-f', id])).toBe(`${id}\n`);
    expect(await mountsUnder(dir)).toEqual([]);
    await expect(lstat(path.join(f.root, 'containers', id))).rejects.toThrow(/ENOENT/);
    await f.umount(dir); // forget it
  });

  it('prints docker diff lines from the writable layer', async () => {
    const dir = newDir();
    const id = (await f.mount(f.ref, dir)).trim();
    await shOk([
      `echo more >> ${dir}/data/a.txt`, `rm ${dir}/data/gone.txt`, `mkdir -p ${dir}/new/dir`, `echo x > ${dir}/new/dir/f`,
      `chmod 600 ${dir}/data/sub/deep.txt`, `rm -r ${dir}/data/sub`, `mkdir ${dir}/data/sub`, `touch ${dir}/data/sub/again`,
    ].join(' && '));
    expect(await f.cliOk(['diff', id])).toBe([
      'C /data', 'C /data/a.txt', 'D /data/gone.txt', 'C /data/sub', 'A /data/sub/again', 'D /data/sub/deep.txt',
      'A /new', 'A /new/dir', 'A /new/dir/f', '',
    ].join('\n'));
    await f.umount(dir);
    await f.cliOk(['rm', id]);
  });

  it('keeps rmi from removing an image a container uses', async () => {
    const id = (await f.cliOk(['create', '--name', 'user', f.ref])).trim();
    const r = await f.cli(['rmi', f.ref]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`conflict: unable to remove repository reference "lamina.test/container:1" \\(must force\\) - container ${id.slice(0, 12)} is using its referenced image [0-9a-f]{12}`));
    const imageId = JSON.parse(await f.cliOk(['inspect', f.ref]))[0].Id as string;
    expect((await f.cli(['rmi', imageId])).stderr).toMatch(/image is being used by container/);
    await f.cliOk(['rm', 'user']);
  });

  it('keeps --read-only image mounts read-only', async () => {
    const dir = newDir();
    await f.mount(f.ref, dir, true);
    const r = await sh(`touch ${dir}/x; echo y >> ${dir}/data/a.txt; rm ${dir}/data/a.txt; mkdir ${dir}/d`);
    expect(r.stderr.match(/Read-only file system/g)?.length).toBe(4);
    expect(await shOk(`cat ${dir}/data/a.txt`)).toBe('alpha\n');
  });
});
