// A container mount doing what programs do: copy-up, metacopy, whiteouts, renames,
// links, special files, xattrs, attributes, sparse and >4 GiB files, appends, pwrite,
// mmap and concurrent writers. Every access to the mount runs in a child process;
// the host upper dir is checked directly for the overlayfs format.
import { createHash } from 'node:crypto';
import { chmod, link, mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRootfs } from '../helpers/images.js';
import { canMount, fixture, mountsUnder, releaseFixture, sh, shOk, type Fixture } from '../helpers/containers.js';
import { run, runOk } from '../helpers/proc.js';

const MiB = 1 << 20;
const T0 = new Date(1_600_000_000_000);

async function base(r: string): Promise<void> {
  const p = (x: string) => path.join(r, x);
  await busyboxRootfs(r);
  for (const d of ['data/sub/deep', 'big', 'hl', 'x', 'ren/dir/b', 'meta', 'tree', 'gone']) await mkdir(p(d), { recursive: true });
  for (let d = 0; d < 5; d++) await mkdir(p(`nl/s${d}`), { recursive: true });
  await writeFile(p('gone/f'), 'still here\n');
  await writeFile(p('data/a.txt'), 'alpha\n');
  await writeFile(p('data/keep.txt'), 'keep\n');
  await writeFile(p('data/removed'), 'removed in layer 2\n');
  await writeFile(p('data/sub/deep/x.txt'), 'x\n');
  for (let d = 0; d < 20; d++) {
    await mkdir(p(`tree/d${d}`));
    for (let i = 0; i < 10; i++) await writeFile(p(`tree/d${d}/f${i}`), `${d}/${i}\n`);
  }
  await runOk('sh', ['-c', `head -c ${100 * MiB} /dev/urandom > ${p('big/meta.bin')} && head -c ${100 * MiB} /dev/urandom > ${p('big/copy.bin')}`]);
  await runOk('sh', ['-c', `printf head > ${p('big/sparse.bin')} && truncate -s ${64 * MiB} ${p('big/sparse.bin')} && printf tail | dd of=${p('big/sparse.bin')} bs=1 seek=${64 * MiB - 4} conv=notrunc status=none`]);
  await writeFile(p('hl/a'), 'pair\n');
  await link(p('hl/a'), p('hl/b'));
  await writeFile(p('hl/single'), 'single\n');
  await writeFile(p('x/file'), 'xattrs\n');
  await runOk('setfattr', ['-n', 'user.comment', '-v', 'lower', p('x/file')]);
  await writeFile(p('ren/dir/a'), 'a\n');
  await writeFile(p('ren/dir/b/c'), 'c\n');
  await writeFile(p('ren/file1'), 'one\n');
  await writeFile(p('ren/file2'), 'two\n');
  await writeFile(p('meta/f1'), 'meta one\n');
  await writeFile(p('meta/f2'), 'meta two\n');
  await runOk('chown', ['-R', '1000:1000', p('meta')]);
  await chmod(p('meta/f2'), 0o640);
  for (const f of ['meta/f1', 'meta/f2', 'data', 'meta']) await utimes(p(f), T0, T0);
}

async function second(r: string): Promise<void> {
  await writeFile(path.join(r, 'data/keep.txt'), 'layer2\n');
  await sh(`rm ${path.join(r, 'data/removed')}`);
  await utimes(path.join(r, 'data'), T0, T0);
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe.runIf(canMount)('container mount: filesystem semantics', () => {
  let f: Fixture;
  let mnt: string;
  let upper: string;
  const m = (p: string) => `'${path.join(mnt, p)}'`;
  const up = (p: string) => path.join(upper, p);
  const hostStat = (p: string, fmt: string) => runOk('stat', ['-c', fmt, up(p)]).then((r) => r.stdout.trim());
  const xattrsOf = async (p: string) => (await run('getfattr', ['-d', '-m', '-', '-e', 'text', '--absolute-names', up(p)])).stdout;
  const timed = async (script: string) => {
    const t = performance.now();
    await shOk(script);
    return performance.now() - t;
  };

  beforeAll(async () => {
    f = await fixture('lamina-container-fs-', [base, second]);
    mnt = path.join(f.work, 'mnt');
    const id = (await f.mount(f.ref, mnt)).trim();
    upper = path.join(f.root, 'containers', id, 'upper');
  }, 900_000);
  afterEach(async () => {
    expect((await mountsUnder(f.work)).filter((d) => d !== mnt)).toEqual([]);
  });
  afterAll(() => releaseFixture(f), 60_000);

  it('copies a file up on its first write, parents with their metadata, keeping the inode number', async () => {
    const before = await shOk(`stat -c '%i %Y %a %u' ${m('data/a.txt')} ${m('data')}`);
    await shOk(`echo more >> ${m('data/a.txt')}`);
    expect(await shOk(`cat ${m('data/a.txt')}`)).toBe('alpha\nmore\n');
    expect(await shOk(`stat -c '%i %Y %a %u' ${m('data/a.txt')} ${m('data')}`).then((s) => s.split('\n')[1])).toBe(before.split('\n')[1]);
    expect((await shOk(`stat -c '%i' ${m('data/a.txt')}`)).trim()).toBe(before.split(' ')[0]);
    expect(await hostStat('data/a.txt', '%F %s')).toBe('regular file 11');
    expect(await hostStat('data', `%F %a %Y`)).toBe(`directory 755 ${T0.getTime() / 1000}`);
    expect(await xattrsOf('data/a.txt')).not.toMatch(/metacopy/);
    expect(await readdir(path.join(f.root, 'containers', path.basename(path.dirname(upper)), 'work/lamina'))).toEqual([]);
  });

  it('copies metadata only for chmod, chown, utimes and xattrs (metacopy), data on the first write', async () => {
    const want = sha(await shOk(`cat ${m('big/meta.bin')} | sha256sum`));
    const chmodMs = await timed(`chmod 600 ${m('big/meta.bin')}`);
    console.log(`chmod of a 100 MiB lower file: ${chmodMs.toFixed(1)} ms`);
    expect(chmodMs).toBeLessThan(1000);
    expect(await hostStat('big/meta.bin', '%s %a')).toBe(`${100 * MiB} 600`);
    expect(Number(await hostStat('big/meta.bin', '%b'))).toBeLessThan(16); // no data blocks
    expect(await xattrsOf('big/meta.bin')).toMatch(/trusted\.overlay\.metacopy=""/);
    expect(sha(await shOk(`cat ${m('big/meta.bin')} | sha256sum`))).toBe(want);
    await shOk(`chown 1:2 ${m('meta/f1')} && touch -h -d @1500000000 ${m('meta/f2')} && setfattr -n user.k -v v ${m('hl/single')}`);
    expect(await shOk(`stat -c '%u:%g %a %Y' ${m('meta/f1')} ${m('meta/f2')}; cat ${m('meta/f1')} ${m('meta/f2')}`))
      .toBe(`1:2 644 ${T0.getTime() / 1000}\n1000:1000 640 1500000000\nmeta one\nmeta two\n`);
    for (const p of ['meta/f1', 'meta/f2', 'hl/single']) expect(await xattrsOf(p)).toMatch(/trusted\.overlay\.metacopy/);
    await runOk('python3', ['-c', 'import sys; open(sys.argv[1], "r+b").close()', path.join(mnt, 'meta/f1')]); // opened for writing, not written
    expect(await xattrsOf('meta/f1')).not.toMatch(/metacopy/);
    expect(await shOk(`stat -c %Y ${m('meta/f1')}; cat ${m('meta/f1')}`)).toBe(`${T0.getTime() / 1000}\nmeta one\n`);
    const copyMs = await timed(`printf X | dd of=${m('big/meta.bin')} bs=1 seek=5 conv=notrunc status=none`);
    console.log(`first write to a 100 MiB metacopy file (data copy-up): ${copyMs.toFixed(0)} ms`);
    expect(await xattrsOf('big/meta.bin')).not.toMatch(/metacopy/);
    expect(Number(await hostStat('big/meta.bin', '%b'))).toBeGreaterThan(100 * MiB / 512 - 16);
    expect(await shOk(`stat -c %a ${m('big/meta.bin')}; dd if=${m('big/meta.bin')} bs=1 skip=5 count=1 status=none`)).toBe('600\nX');
  });

  it('opens with O_TRUNC without copying data', async () => {
    await shOk(`: > ${m('meta/f1')}; : > ${m('data/sub/deep/x.txt')}`);
    expect(await shOk(`stat -c %s ${m('meta/f1')} ${m('data/sub/deep/x.txt')}`)).toBe('0\n0\n');
    expect(await xattrsOf('meta/f1')).not.toMatch(/metacopy/);
    expect(await hostStat('data/sub/deep/x.txt', '%F %s')).toBe('regular empty file 0');
  });

  it('copies up a 100 MiB file by streaming, without stalling other operations', async () => {
    // open and close always reach the server (OPEN, FLUSH, RELEASE; readdir and stat may be cached):
    // their latency shows a server that stopped reading requests while it copies.
    const probe = `const fs=require('fs');const end=Date.now()+1500;let max=0,n=0;while(Date.now()<end){
      const t=process.hrtime.bigint();fs.closeSync(fs.openSync(process.argv[1]));const ms=Number(process.hrtime.bigint()-t)/1e6;if(ms>max)max=ms;n++;}
      console.log(JSON.stringify({max,n}));`;
    const watching = runOk(process.execPath, ['-e', probe, path.join(mnt, 'data/sub/deep/x.txt')]);
    await sleep(300);
    const copyMs = await timed(`echo tail >> ${m('big/copy.bin')}`);
    const { max, n } = JSON.parse((await watching).stdout) as { max: number; n: number };
    console.log(`copy-up of a 100 MiB file: ${copyMs.toFixed(0)} ms; meanwhile ${n} opens, slowest ${max.toFixed(1)} ms`);
    expect(await shOk(`stat -c %s ${m('big/copy.bin')}; tail -c 5 ${m('big/copy.bin')}`)).toBe(`${100 * MiB + 5}\ntail\n`);
    expect(max).toBeLessThan(Math.max(50, copyMs / 2));
  });

  it('keeps a sparse file sparse through copy-up, and serves files over 4 GiB', async () => {
    await shOk(`echo more >> ${m('big/sparse.bin')}`);
    expect(await shOk(`head -c 4 ${m('big/sparse.bin')}; tail -c 9 ${m('big/sparse.bin')}`)).toBe('headtailmore\n');
    expect(Number(await hostStat('big/sparse.bin', '%b')) * 512).toBeLessThan(1 * MiB);
    const G = 2 ** 30;
    await shOk(`truncate -s ${5 * G} ${m('huge')} && printf past4g | dd of=${m('huge')} bs=1 seek=${4.5 * G} conv=notrunc status=none`);
    expect(await shOk(`stat -c %s ${m('huge')}; dd if=${m('huge')} iflag=skip_bytes,count_bytes skip=${4.5 * G} count=6 status=none`)).toBe(`${5 * G}\npast4g`);
    await shOk(`rm ${m('huge')}`);
  });

  it('writes whiteouts for lower entries only, and never lists them', async () => {
    await shOk(`rm ${m('data/keep.txt')} && echo n > ${m('data/new')} && rm ${m('data/new')}`);
    expect(await hostStat('data/keep.txt', '%F %t:%T')).toBe('character special file 0:0');
    await expect(hostStat('data/new', '%F')).rejects.toThrow();
    const ls = await shOk(`ls -a ${m('data')}`);
    expect(ls).not.toMatch(/keep\.txt|new|removed/);
    expect((await sh(`cat ${m('data/keep.txt')}`)).stderr).toMatch(/No such file/);
  });

  it('removes a lower tree with rm -rf (one whiteout left), and a dir made again there is opaque', async () => {
    await shOk(`rm -rf ${m('tree')}`);
    expect(await shOk(`ls ${m('')} | grep -c '^tree$' || true`)).toBe('0\n');
    expect(await hostStat('tree', '%F %t:%T')).toBe('character special file 0:0');
    await shOk(`mkdir ${m('tree')} && touch ${m('tree/only')}`);
    expect(await shOk(`ls -A ${m('tree')}`)).toBe('only\n');
    expect(await xattrsOf('tree')).toMatch(/trusted\.overlay\.opaque="y"/);
    expect((await sh(`rmdir ${m('data')}`)).stderr).toMatch(/not empty/);
  });

  it('counts a merged directory\'s links through mkdir, rmdir, rename and copy-up of lower subdirectories', async () => {
    // st_nlink is 2 + subdirectories; the server keeps the count of lower ones between changes
    const steps = ['true', 'touch nl/f', 'rmdir nl/s0', 'mkdir nl/n', 'mv nl/s1 nl/t', 'mv nl/s2 tree/', 'touch nl/s3/x', 'mkdir nl/s0', 'rm -r nl/s4'];
    const script = steps.map((c) => `${c} && stat -c %h nl`).join(' && ');
    expect((await shOk(`cd '${mnt}' && ${script}`)).trim().split('\n')).toEqual(['7', '7', '6', '7', '7', '6', '6', '7', '6']);
    expect(await shOk(`ls '${mnt}/nl'`)).toBe('f\nn\ns0\ns3\nt\n');
  });

  it('renames files: lower over lower, upper over lower, with whiteouts and redirects', async () => {
    await shOk(`mv ${m('ren/file1')} ${m('ren/file2')} && echo three > ${m('ren/file3')} && mv ${m('ren/file3')} ${m('hl/single')}`);
    expect(await shOk(`ls ${m('ren')}; cat ${m('ren/file2')} ${m('hl/single')}`)).toBe('dir\nfile2\none\nthree\n');
    expect(await hostStat('ren/file1', '%F')).toBe('character special file');
    expect(await xattrsOf('ren/file2')).toMatch(/trusted\.overlay\.redirect="\/ren\/file1"/);
    await shOk(`mv ${m('ren/file2')} ${m('ren/again')}`); // a metacopy file moves with its redirect
    expect(await shOk(`cat ${m('ren/again')}`)).toBe('one\n');
  });

  it('renames lower directories with redirect_dir (no EXDEV), again and again', async () => {
    await shOk(`mv ${m('ren/dir')} ${m('moved')}`);
    expect(await shOk(`find ${m('moved')} | sort | sed 's|${mnt}||'`)).toBe('/moved\n/moved/a\n/moved/b\n/moved/b/c\n');
    expect(await xattrsOf('moved')).toMatch(/trusted\.overlay\.redirect="\/ren\/dir"/);
    expect(await hostStat('ren/dir', '%F')).toBe('character special file');
    await shOk(`mv ${m('moved')} ${m('data/moved2')} && echo c2 >> ${m('data/moved2/b/c')}`);
    expect(await shOk(`cat ${m('data/moved2/a')} ${m('data/moved2/b/c')}; ls ${m('ren')}`)).toBe('a\nc\nc2\nagain\n');
    expect(await xattrsOf('data/moved2')).toMatch(/redirect="\/ren\/dir"/);
  });

  it('keeps hard links coherent, including links to lower files', async () => {
    await shOk(`ln ${m('data/a.txt')} ${m('data/a-link')} && ln ${m('hl/a')} ${m('hl/a2')}`);
    // a lower pair stays one file when one name is linked again: all three names count (overlayfs needs index=on for that)
    expect(await shOk(`stat -c '%h' ${m('data/a.txt')} ${m('data/a-link')} ${m('hl/a')} ${m('hl/b')} ${m('hl/a2')}`)).toBe('2\n2\n3\n3\n3\n');
    expect(new Set((await shOk(`stat -c %i ${m('hl/a')} ${m('hl/b')} ${m('hl/a2')}`)).trim().split('\n')).size).toBe(1);
    const inos = (await shOk(`stat -c %i ${m('data/a.txt')} ${m('data/a-link')}`)).split('\n');
    expect(inos[0]).toBe(inos[1]);
    await shOk(`echo via-link >> ${m('data/a-link')} && echo via-b >> ${m('hl/b')}`);
    expect(await shOk(`cat ${m('data/a.txt')} ${m('hl/a2')}`)).toBe('alpha\nmore\nvia-link\npair\nvia-b\n');
    await shOk(`rm ${m('data/a-link')} ${m('hl/a')}`);
    expect(await shOk(`stat -c %h ${m('data/a.txt')} ${m('hl/b')}`)).toBe('1\n2\n');
  });

  it('keeps a lower file that is open when its name goes: readable, and changeable through its fd', async () => {
    // as a plain directory does: the unlinked file's data stays, fchmod works, nlink is 0
    const py = `import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.unlink(sys.argv[1])
os.fchmod(fd, 0o600)
st = os.fstat(fd)
print(oct(st.st_mode & 0o7777), st.st_nlink, os.pread(fd, 100, 0).decode().strip())`;
    expect((await runOk('python3', ['-c', py, path.join(mnt, 'gone/f')])).stdout).toBe('0o600 0 still here\n');
    expect(await shOk(`ls -A ${m('gone')}`)).toBe('');
    expect(await readdir(up('gone'))).toEqual(['f']); // the whiteout; the copy had no name in the upper layer
  });

  it('makes symlinks, fifos and device nodes', async () => {
    await shOk(`ln -s ../data/a.txt ${m('x/sl')} && mkfifo -m 640 ${m('x/fifo')} && mknod -m 600 ${m('x/null')} c 1 3 && mknod ${m('x/blk')} b 8 1`);
    expect(await shOk(`stat -c '%F %a %t:%T' ${m('x/fifo')} ${m('x/null')} ${m('x/blk')}; readlink ${m('x/sl')}; head -1 ${m('x/sl')}`))
      .toBe('fifo 640 0:0\ncharacter special file 600 1:3\nblock special file 644 8:1\n../data/a.txt\nalpha\n');
    // a container mount a host user can reach is nodev: the device node is not a way into the host's devices
    expect((await sh(`echo hi > ${m('x/null')}`)).stderr).toMatch(/Permission denied/);
  });

  it('sets, lists and removes user xattrs, keeping lower ones on copy-up and hiding overlay ones', async () => {
    await shOk(`setfattr -n user.new -v 1 ${m('x/file')} && touch ${m('x/plain')} && setfattr -n user.p -v 2 ${m('x/plain')}`);
    const all = await shOk(`getfattr -d -m - ${m('x/file')} ${m('x/plain')} ${m('big/meta.bin')}`);
    expect(all).toMatch(/user\.comment="lower"/);
    expect(all).toMatch(/user\.new="1"/);
    expect(all).toMatch(/user\.p="2"/);
    expect(all).not.toMatch(/^\w+\.(overlay|lamina)/m);
    await shOk(`setfattr -x user.comment ${m('x/file')}`);
    expect(await shOk(`getfattr -d ${m('x/file')}`)).not.toMatch(/comment/);
    expect((await sh(`setfattr -n trusted.overlay.opaque -v y ${m('x')}`)).code).not.toBe(0);
  });

  it('gives new entries the uid and gid of the process that made them (setgid dirs pass their group on)', async () => {
    await shOk(`mkdir ${m('sg')} && chown 0:50 ${m('sg')} && chmod 2777 ${m('sg')}`);
    const script = [`cd ${mnt}`, 'echo a > tmp/u', 'echo b >> tmp/u', 'cat tmp/u', 'mkdir tmp/ud', 'ln -s x tmp/us', 'mkfifo tmp/uf',
      'touch sg/f', 'mkdir sg/d', "stat -c '%u:%g %A %n' tmp/u tmp/ud tmp/us tmp/uf sg/f sg/d"].join(' && ');
    const r = await run('setpriv', ['--reuid=1000', '--regid=1000', '--clear-groups', 'sh', '-c', script]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(['a', 'b', '1000:1000 -rw-r--r-- tmp/u', '1000:1000 drwxr-xr-x tmp/ud', '1000:1000 lrwxrwxrwx tmp/us',
      '1000:1000 prw-r--r-- tmp/uf', '1000:50 -rw-r--r-- sg/f', '1000:50 drwxr-sr-x sg/d', ''].join('\n'));
  });

  it('changes modes, owners and times of upper and lower entries', async () => {
    await shOk(`touch ${m('x/t')} && chmod 4750 ${m('x/t')} && chown 1000:1000 ${m('x/t')} && chmod 4750 ${m('x/t')} && touch -d @1234567890 ${m('x/t')} ${m('data/sub')}`);
    expect(await shOk(`stat -c '%a %u %g %Y' ${m('x/t')} ${m('data/sub')}`)).toBe('4750 1000 1000 1234567890\n755 0 0 1234567890\n');
    const before = Date.now() / 1000;
    await shOk(`touch ${m('x/t')}`);
    expect(Number(await shOk(`stat -c %Y ${m('x/t')}`))).toBeGreaterThanOrEqual(Math.floor(before));
  });

  it('truncates lower and upper files, answers statfs from the host', async () => {
    await shOk(`truncate -s 3 ${m('meta/f2')} && truncate -s ${10 * MiB} ${m('x/grow')}`);
    expect(await shOk(`cat ${m('meta/f2')}; echo; stat -c %s ${m('x/grow')}`)).toBe(`met\n${10 * MiB}\n`);
    const [bsize, free] = (await shOk(`stat -f -c '%S %f' ${mnt}`)).trim().split(' ').map(Number);
    expect(bsize).toBe(4096);
    expect(free).toBeGreaterThan(0);
  });

  it('serves pwrite, O_APPEND from several processes, fsync and concurrent writers (node children)', async () => {
    const script = `const fs=require('fs');const [file,who]=process.argv.slice(1);
      const fd=fs.openSync(file,'a');for(let i=0;i<200;i++)fs.writeSync(fd,who+':'+String(i).padStart(4,'0')+'\\n');fs.fsyncSync(fd);fs.closeSync(fd);`;
    await shOk(`echo start > ${m('x/log')}`);
    await Promise.all(['a', 'b', 'c', 'd'].map((w) => runOk(process.execPath, ['-e', script, path.join(mnt, 'x/log'), w])));
    const lines = (await shOk(`cat ${m('x/log')}`)).trim().split('\n');
    expect(lines.length).toBe(801);
    expect(lines.filter((l) => /^[abcd]:\d{4}$/.test(l)).length).toBe(800);
    const pw = `const fs=require('fs');const fd=fs.openSync(process.argv[1],'r+');fs.writeSync(fd,'XY',3);fs.writeSync(fd,'Z',20);
      const b=Buffer.alloc(21);fs.readSync(fd,b,0,21,0);process.stdout.write(JSON.stringify(b.toString('latin1')));`;
    await shOk(`printf 0123456789 > ${m('data/sub/deep/pw')}`);
    const out = await runOk(process.execPath, ['-e', pw, path.join(mnt, 'data/sub/deep/pw')]);
    expect(JSON.parse(out.stdout)).toBe('012XY56789' + '\0'.repeat(10) + 'Z');
    const writers = Array.from({ length: 6 }, (_, i) => shOk(`dd if=/dev/urandom of=${m(`x/w${i}`)} bs=64k count=64 status=none && sha256sum ${m(`x/w${i}`)}`));
    for (const s of await Promise.all(writers)) {
      const [sum, file] = s.trim().split(/\s+/);
      expect((await shOk(`sha256sum ${file}`)).split(' ')[0]).toBe(sum);
    }
  });

  it('supports shared mmap reads and writes (python child)', async () => {
    await shOk(`printf 'hello mmap world' > ${m('x/mm')}`);
    const py = `import mmap,sys
with open(sys.argv[1],'r+b') as f:
  m=mmap.mmap(f.fileno(),0,mmap.MAP_SHARED,mmap.PROT_READ|mmap.PROT_WRITE); m[0:5]=b'HELLO'; m.flush(); m.close()
with open(sys.argv[2],'rb') as f:
  m=mmap.mmap(f.fileno(),0,mmap.MAP_SHARED,mmap.PROT_READ); print(m[0:4].decode()); m.close()`;
    expect((await runOk('python3', ['-c', py, path.join(mnt, 'x/mm'), path.join(mnt, 'hl/b')])).stdout).toBe('pair\n');
    expect(await shOk(`cat ${m('x/mm')}`)).toBe('HELLO mmap world');
  });

  it('measures write throughput through the mount', async () => {
    const ms = await timed(`dd if=/dev/zero of=${m('tput.bin')} bs=1M count=256 conv=fsync status=none`);
    console.log(`sequential write through the container mount: ${(256 / (ms / 1000)).toFixed(0)} MiB/s (256 MiB, 1 MiB writes, fsync)`);
    expect(await shOk(`stat -c %s ${m('tput.bin')}`)).toBe(`${256 * MiB}\n`);
    await shOk(`rm ${m('tput.bin')}`);
  });
});
