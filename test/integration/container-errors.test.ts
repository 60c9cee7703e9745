// Errors a program gets from a container mount: the same errno as kernel overlayfs over the
// same layers (ENAMETOOLONG, ENOTEMPTY, EEXIST, EISDIR, ENOTDIR, ...), and ENOSPC when the
// filesystem under the writable layer fills up, with the mount still usable afterwards and
// no half-done copy-up visible. Every access to a mount runs in a child process.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRootfs, diffSnapshots, treeSnapshot, type TreeEntry } from '../helpers/images.js';
import { canMount, fixture, mountsUnder, releaseFixture, sh, shOk, type Fixture } from '../helpers/containers.js';
import { lamina, laminaOk } from '../helpers/lamina.js';
import { run, runOk } from '../helpers/proc.js';

const hasOverlay = (await run('grep', ['-qw', 'overlay', '/proc/filesystems'])).code === 0;
const MiB = 1 << 20;
const BLOB = 24 * MiB; // lower files bigger than the free space left on the small upper filesystem

async function base(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  await busyboxRootfs(r);
  for (const d of ['d/sub', 'd/empty', 'merged', 'target/full', 'big']) await mkdir(p(d), { recursive: true });
  await writeFile(p('d/sub/f'), 'f\n');
  await writeFile(p('merged/lower'), 'lower\n');
  await writeFile(p('target/full/x'), 'x\n');
  await writeFile(p('file'), 'file\n');
  await writeFile(p('other'), 'other\n');
  await runOk('sh', ['-c', `head -c ${BLOB} /dev/urandom > '${p('big/a')}' && head -c ${BLOB} /dev/urandom > '${p('big/b')}'`]);
}

/** Each failing call, with the errno name it got (or "ok"); cwd = the mount root. */
const ERRORS = String.raw`
import errno, os, sys
os.chdir(sys.argv[1])
def t(name, fn):
    try:
        fn()
        print(name, 'ok')
    except OSError as e:
        print(name, errno.errorcode[e.errno])
def create(p, flags=os.O_WRONLY | os.O_CREAT):
    os.close(os.open(p, flags, 0o644))
n255, n256 = 'n' * 255, 'n' * 256

with open('merged/upper', 'w') as f: f.write('upper\n')   # merged: a lower dir with an upper entry
os.mkdir('updir'); create('updir/f')                      # a dir with upper entries only
os.unlink('merged/lower')

t('create 256-byte name', lambda: create(n256))
t('mkdir 256-byte name', lambda: os.mkdir('d/' + n256))
t('symlink 256-byte name', lambda: os.symlink('x', n256))
t('rename to 256-byte name', lambda: os.rename('file', n256))
t('stat 256-byte name', lambda: os.stat(n256))
t('create 255-byte name', lambda: create(n255))
t('unlink 255-byte name', lambda: os.unlink(n255))

t('rmdir non-empty lower dir', lambda: os.rmdir('d'))
t('rmdir merged dir', lambda: os.rmdir('merged'))
t('rmdir upper dir', lambda: os.rmdir('updir'))
t('rename dir over non-empty lower dir', lambda: os.rename('d/empty', 'target/full'))
t('rename dir over non-empty merged dir', lambda: os.rename('d/empty', 'merged'))

t('mkdir existing lower dir', lambda: os.mkdir('d'))
t('mkdir existing lower file', lambda: os.mkdir('file'))
t('link over existing lower file', lambda: os.link('file', 'other'))
t('link over existing upper file', lambda: os.link('file', 'merged/upper'))
t('symlink over existing lower dir', lambda: os.symlink('x', 'd'))
t('mkfifo over existing lower file', lambda: os.mkfifo('file'))
t('O_CREAT|O_EXCL on a lower file', lambda: create('file', os.O_WRONLY | os.O_CREAT | os.O_EXCL))

t('open lower dir O_WRONLY', lambda: os.open('d', os.O_WRONLY))
t('open lower dir O_RDWR', lambda: os.open('d', os.O_RDWR))
t('open upper dir O_WRONLY|O_CREAT', lambda: os.open('updir', os.O_WRONLY | os.O_CREAT))
t('truncate lower dir', lambda: os.truncate('d', 0))
t('unlink lower dir', lambda: os.unlink('d'))
t('rename file over lower dir', lambda: os.rename('other', 'd/empty'))

t('open through a lower file', lambda: os.open('file/x', os.O_RDONLY))
t('create through a lower file', lambda: create('file/x'))
t('mkdir through a lower file', lambda: os.mkdir('file/x'))
t('stat through an upper file', lambda: os.stat('updir/f/x'))
t('rmdir lower file', lambda: os.rmdir('file'))
t('listdir lower file', lambda: os.listdir('file'))
t('rename dir over lower file', lambda: os.rename('d/empty', 'file'))

t('rename dir into itself', lambda: os.rename('d', 'd/sub/x'))
t('link a dir', lambda: os.link('d', 'dlink'))
t('stat missing', lambda: os.stat('missing'))
t('rename missing', lambda: os.rename('missing', 'x'))
t('readlink a file', lambda: os.readlink('file'))
t('getxattr missing', lambda: os.getxattr('file', 'user.none'))
t('removexattr missing', lambda: os.removexattr('file', 'user.none'))
t('user xattr on a fifo', lambda: (os.mkfifo('fifo'), os.setxattr('fifo', 'user.x', b'1', follow_symlinks=False)))
`;

async function extractLayer(tarFile: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await runOk('tar', ['-xpf', tarFile, '-C', dir, '--numeric-owner', '--xattrs', '--xattrs-include=*'], { timeout: 300_000 });
  // this image has no whiteouts (a single layer)
}

describe.runIf(canMount)('container mount: errors', () => {
  let f: Fixture;
  const ovl: string[] = [];
  const script = () => path.join(f.work, 'errors.py');
  const errs = async (root: string) => (await runOk('/usr/bin/python3', [script(), root])).stdout;

  beforeAll(async () => {
    f = await fixture('lamina-container-errors-', [base]);
    await writeFile(script(), ERRORS);
  }, 900_000);
  afterEach(async () => {
    const left = await mountsUnder(f.work); // each test unmounts what it mounted
    for (const d of ovl.splice(0)) if ((await mountsUnder(d)).length) await run('umount', ['-l', d]);
    expect(await f.unmountAll()).toBe(true);
    expect(left).toEqual([]);
  }, 60_000);
  afterAll(async () => {
    await releaseFixture(f); // every error reached the program as its errno: none turned into EIO
    if (f) expect(existsSync(f.work)).toBe(false);
  }, 60_000);

  it.runIf(hasOverlay)('answers the errno kernel overlayfs answers, and both trees stay equal', async () => {
    const mnt = path.join(f.work, 'mnt');
    await f.mount(f.ref, mnt);
    let ours: string;
    let oursTree: TreeEntry[];
    try {
      ours = await errs(mnt);
      await sleep(300);
      oursTree = await treeSnapshot(mnt, { hash: true });
    } finally {
      await f.umount(mnt);
    }
    const layers = JSON.parse(await f.cliOk(['inspect', f.ref]))[0].RootFS.Layers as string[];
    expect(layers.length).toBe(1);
    const lowerDir = path.join(f.work, 'lower');
    await extractLayer(path.join(f.root, 'blobs/sha256', layers[0]!.slice(7)), lowerDir);
    const dir = path.join(f.work, 'ovl');
    for (const d of ['ovl', 'ovl-upper', 'ovl-work']) await mkdir(path.join(f.work, d));
    await runOk('sh', ['-c', 'chown --reference="$1" "$2" && chmod --reference="$1" "$2" && touch -r "$1" "$2"', 'sh', lowerDir, `${dir}-upper`]);
    await runOk('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerDir},upperdir=${dir}-upper,workdir=${dir}-work,redirect_dir=on,metacopy=on`, dir]);
    ovl.push(dir);
    let theirs: string;
    let theirsTree: TreeEntry[];
    try {
      theirs = await errs(dir);
      theirsTree = await treeSnapshot(dir, { hash: true });
    } finally {
      await runOk('umount', [dir]);
    }
    expect(ours).toBe(theirs);
    expect(diffSnapshots(oursTree, theirsTree, { labels: ['lamina', 'overlayfs'], ignore: ['mtime'] })).toEqual([]);
    expect(Object.fromEntries(ours.trim().split('\n').map((l) => [l.slice(0, l.lastIndexOf(' ')), l.slice(l.lastIndexOf(' ') + 1)]))).toEqual({
      'create 256-byte name': 'ENAMETOOLONG', 'mkdir 256-byte name': 'ENAMETOOLONG', 'symlink 256-byte name': 'ENAMETOOLONG',
      'rename to 256-byte name': 'ENAMETOOLONG', 'stat 256-byte name': 'ENAMETOOLONG', 'create 255-byte name': 'ok', 'unlink 255-byte name': 'ok',
      'rmdir non-empty lower dir': 'ENOTEMPTY', 'rmdir merged dir': 'ENOTEMPTY', 'rmdir upper dir': 'ENOTEMPTY',
      'rename dir over non-empty lower dir': 'ENOTEMPTY', 'rename dir over non-empty merged dir': 'ENOTEMPTY',
      'mkdir existing lower dir': 'EEXIST', 'mkdir existing lower file': 'EEXIST', 'link over existing lower file': 'EEXIST',
      'link over existing upper file': 'EEXIST', 'symlink over existing lower dir': 'EEXIST', 'mkfifo over existing lower file': 'EEXIST',
      'O_CREAT|O_EXCL on a lower file': 'EEXIST',
      'open lower dir O_WRONLY': 'EISDIR', 'open lower dir O_RDWR': 'EISDIR', 'open upper dir O_WRONLY|O_CREAT': 'EISDIR',
      'truncate lower dir': 'EISDIR', 'unlink lower dir': 'EISDIR', 'rename file over lower dir': 'EISDIR',
      'open through a lower file': 'ENOTDIR', 'create through a lower file': 'ENOTDIR', 'mkdir through a lower file': 'ENOTDIR',
      'stat through an upper file': 'ENOTDIR', 'rmdir lower file': 'ENOTDIR', 'listdir lower file': 'ENOTDIR',
      'rename dir over lower file': 'ENOTDIR',
      'rename dir into itself': 'EINVAL', 'link a dir': 'EPERM', 'stat missing': 'ENOENT', 'rename missing': 'ENOENT',
      'readlink a file': 'EINVAL', 'getxattr missing': 'ENODATA', 'removexattr missing': 'ENODATA',
      'user xattr on a fifo': 'EPERM',
    });
  }, 300_000);

  describe('when the filesystem under the writable layer is full', () => {
    let small: string;
    let root: string;
    let mnt: string;
    let id: string | undefined;
    const env = () => ({ LAMINA_RUN_DIR: path.join(f.work, 'run-small') });
    const cli = (args: string[]) => lamina(root, args, { env: env(), timeout: 120_000 });
    const cliOk = (args: string[]) => laminaOk(root, args, { env: env(), timeout: 120_000 });
    const avail = async () => {
      const [a, bs] = (await shOk(`stat -f -c '%a %S' '${small}'`)).trim().split(' ').map(Number);
      return a! * bs!;
    };
    const sums = async (...files: string[]) => (await shOk(`cd '${mnt}' && sha256sum ${files.join(' ')}`)).trim().split('\n');
    const upper = (p: string) => path.join(root, 'containers', id!, 'upper', p);
    // dd, not the shell's printf: dash reports every write error as "I/O error"
    const put = (data: string, file: string, append = false) =>
      sh(`printf ${data} | dd of='${mnt}/${file}' status=none${append ? ' oflag=append conv=notrunc' : ''}`);
    const nospace = (r: { code: number | null; stderr: string }) => {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/No space left on device/);
    };

    beforeAll(async () => {
      small = path.join(f.work, 'small');
      mnt = path.join(f.work, 'mnt-small');
      await mkdir(small);
      await mkdir(mnt);
      // Room to load the image (its layer blobs and index), then shrunk to leave 40 MiB free:
      // more than one 24 MiB lower file, less than two.
      await runOk('mount', ['-t', 'tmpfs', '-o', 'size=512m,mode=755', 'tmpfs', small]);
      root = path.join(small, 'store');
      const image = /sha256:[0-9a-f]{64}/.exec(await cliOk(['load', '-i', path.join(f.work, 'layout')]))![0];
      await cliOk(['tag', image, 'small:1']);
      id = (await cliOk(['create', '--name', 'small', 'small:1'])).trim();
      const [blocks, bfree, bsize] = (await shOk(`stat -f -c '%b %f %S' '${small}'`)).trim().split(' ').map(Number);
      const usedKiB = Math.ceil(((blocks! - bfree!) * bsize!) / 1024);
      await runOk('mount', ['-o', `remount,size=${usedKiB + 40 * 1024}k`, small]);
    }, 300_000);
    // inner hooks run before the outer afterEach, which would only lazily unmount what is left
    afterEach(async () => {
      if (!small) return;
      if ((await mountsUnder(mnt)).length) {
        const r = await cli(['umount', mnt]);
        if (r.code !== 0) await run('umount', ['-l', mnt]);
      }
      if ((await mountsUnder(small)).length) {
        const r = await run('umount', [small]);
        if (r.code !== 0) await run('umount', ['-l', small]);
      }
      expect(await mountsUnder(small)).toEqual([]);
      expect(await mountsUnder(mnt)).toEqual([]);
      await rm(small, { recursive: true, force: true });
    }, 120_000);

    it('gives the program ENOSPC, keeps the mount usable and never shows a half copy-up', async () => {
      const before = await avail();
      expect(before).toBeGreaterThan(BLOB + 8 * MiB);
      expect(before).toBeLessThan(2 * BLOB);
      await cliOk(['mount', 'small', mnt]);
      const [sumA, sumB] = await sums('big/a', 'big/b');

      // fill it: the writer gets ENOSPC, then so does a small write
      nospace(await sh(`dd if=/dev/zero of='${mnt}/fill' bs=1M status=none`));
      expect(await avail()).toBeLessThan(MiB);
      nospace(await put('abc', 'small-file'));
      // reading still works, the merged view is intact
      expect(await sums('big/a', 'big/b')).toEqual([sumA, sumB]);
      expect(await shOk(`cd '${mnt}' && ls big && head -1 etc/passwd`)).toBe('a\nb\nroot:x:0:0:root:/root:/bin/sh\n');
      // changes that need no data blocks still work (tmpfs: dirs, whiteouts, xattrs, empty copy-ups)
      await shOk(`cd '${mnt}' && mkdir new-dir && mv d/sub d/moved && rm other && chmod 600 file && ln -s x sl && : > merged/lower`);
      expect(await shOk(`cd '${mnt}' && ls -A d && cat d/moved/f && stat -c %a file && wc -c < merged/lower`)).toBe('empty\nmoved\nf\n600\n0\n');

      // 8 MiB free: a data copy-up of a 24 MiB lower file fails cleanly
      await shOk(`truncate -s -8M '${mnt}/fill'`);
      const free8 = await avail();
      nospace(await put('X', 'big/a', true));
      expect(await sums('big/a')).toEqual([sumA]);
      expect(await shOk(`stat -c %s '${mnt}/big/a'`)).toBe(`${BLOB}\n`);
      await expect(readdir(upper('big'))).resolves.not.toContain('a');
      expect(await readdir(path.join(root, 'containers', id, 'work', 'lamina'))).toEqual([]);
      expect(await avail()).toBeGreaterThanOrEqual(free8 - MiB);

      // a metacopy file (chmod) whose data cannot be filled in stays metacopy, keeps no blocks
      await shOk(`chmod 600 '${mnt}/big/b'`);
      nospace(await put('X', 'big/b', true));
      expect(await sums('big/b')).toEqual([sumB]);
      expect(await shOk(`stat -c '%a %s' '${mnt}/big/b'`)).toBe(`600 ${BLOB}\n`);
      expect((await run('getfattr', ['-n', 'trusted.overlay.metacopy', '--absolute-names', upper('big/b')])).code).toBe(0);
      expect(Number(await shOk(`stat -c %b '${upper('big/b')}'`))).toBeLessThan(64);
      expect(await avail()).toBeGreaterThanOrEqual(free8 - MiB);

      // small files come and go
      await shOk(`cd '${mnt}' && echo hello > small-file && cat small-file && rm small-file && mkdir sd && echo x > sd/x && rm -r sd`);
      // with the space back, copy-ups work and keep every byte; a removal gives the space back
      await shOk(`rm '${mnt}/fill'`);
      const head = async (file: string) =>
        `${(await shOk(`head -c ${BLOB} '${mnt}/${file}' | sha256sum`)).split(' ')[0]}${await shOk(`tail -c 1 '${mnt}/${file}'`)}`;
      expect((await put('Y', 'big/b', true)).code).toBe(0);
      expect(await head('big/b')).toBe(`${sumB.split(' ')[0]}Y`);
      const full = await avail();
      await shOk(`rm '${mnt}/big/b'`);
      expect(await avail()).toBeGreaterThanOrEqual(full + BLOB - MiB);
      expect((await put('X', 'big/a', true)).code).toBe(0);
      expect(await head('big/a')).toBe(`${sumA.split(' ')[0]}X`);
      expect(await readdir(path.join(root, 'containers', id!, 'work', 'lamina'))).toEqual([]);
      const r = await cli(['umount', mnt]);
      expect(r.stderr).toBe('');
      expect((await cliOk(['diff', id!])).trim().split('\n')).toEqual(['C /big', 'C /big/a', 'D /big/b', 'C /d', 'A /d/moved', 'A /d/moved/f',
        'D /d/sub', 'C /file', 'C /merged', 'C /merged/lower', 'A /new-dir', 'D /other', 'A /sl']);
    }, 300_000);
  });
});
