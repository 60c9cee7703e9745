// A SQLite database from an image layer rewritten in place through a container mount: the case
// behind fuse-overlayfs#475 (silent corruption of a ~90 MB WAL-mode rpmdb.sqlite copied up and
// hit with many small page writes). The same transactions run on a copy on the host's disk; both
// must pass integrity_check and hold the same rows, after a remount and in the committed image too.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canMount, useFixture, type Fixture } from '../helpers/containers.js';
import { run, runOk } from '../helpers/proc.js';

const DB = 'var/lib/app/data.sqlite';

/** python3 with sqlite3: `create DB` (about 40 MB, WAL), `work DB SEED` (transactions), `read DB`, `digest DB [ro]`. */
const SCRIPT = `
import hashlib, random, sqlite3, sys
mode, db = sys.argv[1], sys.argv[2]
rnd = random.Random(sys.argv[3] if len(sys.argv) > 3 else 'create')
blob = lambda: rnd.randbytes(rnd.randrange(50, 400))
if mode == 'create':
    c = sqlite3.connect(db)
    c.execute('PRAGMA journal_mode=WAL')
    c.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, v BLOB)')
    c.execute('CREATE INDEX t_k ON t (k)')
    c.executemany('INSERT INTO t VALUES (?, ?, ?)', ((i, rnd.randrange(1 << 30), blob()) for i in range(1, 150001)))
    c.commit()
    c.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    c.close()
elif mode == 'work':
    c = sqlite3.connect(db, isolation_level=None)
    top = 150000
    for n in range(1, 801):
        c.execute('BEGIN')
        for _ in range(6):
            c.execute('UPDATE t SET v = ?, k = ? WHERE id = ?', (blob(), rnd.randrange(1 << 30), rnd.randrange(1, top)))
        for _ in range(2):
            top += 1
            c.execute('INSERT INTO t VALUES (?, ?, ?)', (top, rnd.randrange(1 << 30), blob()))
        c.execute('DELETE FROM t WHERE id = ?', (rnd.randrange(1, top),))
        c.execute('COMMIT')
        if n % 200 == 0:
            c.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    c.execute('VACUUM')
    c.close()
elif mode == 'read':
    c = sqlite3.connect(db)
    for _ in range(200):
        c.execute('SELECT count(*), sum(k) FROM t').fetchone()
else: # digest; 'ro' on a read-only mount, where SQLite cannot make the WAL index file
    c = sqlite3.connect(f'file:{db}?immutable=1', uri=True) if sys.argv[3:] == ['ro'] else sqlite3.connect(db)
    h = hashlib.sha256()
    for row in c.execute('SELECT id, k, v FROM t ORDER BY id'):
        h.update(repr(row).encode())
    print(c.execute('PRAGMA integrity_check').fetchone()[0], c.execute('SELECT count(*) FROM t').fetchone()[0], h.hexdigest())
`;

async function py(script: string, ...args: string[]): Promise<string> {
  return (await runOk('python3', [script, ...args], { timeout: 300_000 })).stdout.trim();
}

describe.runIf(canMount)('container mount: a SQLite database rewritten in place', () => {
  let f: Fixture;
  const script = () => path.join(f.work, 'db.py');
  useFixture('lamina-container-sqlite-', [async (r) => {
    await mkdir(path.join(r, path.dirname(DB)), { recursive: true });
    await writeFile(path.join(r, 'db.py'), SCRIPT);
    await runOk('python3', [path.join(r, 'db.py'), 'create', path.join(r, DB)], { timeout: 300_000 });
  }], (x) => { f = x; });

  it('keeps every row and a sound file through copy-up, WAL writes, VACUUM, remount and commit', async () => {
    await writeFile(script(), SCRIPT);
    const host = path.join(f.work, 'host.sqlite');
    await py(script(), 'create', host);
    const mnt = path.join(f.work, 'mnt');
    const id = (await f.mount(f.ref, mnt)).trim();
    const inMount = path.join(mnt, DB);
    const before = await py(script(), 'digest', inMount);
    expect(before).toMatch(/^ok 150000 [0-9a-f]{64}$/);
    expect(await py(script(), 'digest', host)).toBe(before);

    // one writer and, meanwhile, a reader in another process (shared -shm mapping, locks)
    const [writer, reader] = await Promise.all([
      run('python3', [script(), 'work', inMount, '1'], { timeout: 300_000 }),
      run('python3', [script(), 'read', inMount], { timeout: 300_000 }),
    ]);
    expect(writer.stderr + reader.stderr).toBe('');
    expect([writer.code, reader.code]).toEqual([0, 0]);
    await py(script(), 'work', host, '1');
    const after = await py(script(), 'digest', host);
    const [check, rows] = after.split(' ');
    expect(check).toBe('ok');
    expect(Number(rows)).toBeGreaterThanOrEqual(150000 + 1600 - 800); // 1,600 rows added, up to 800 deleted
    expect(Number(rows)).toBeLessThan(150000 + 1600);
    expect(await py(script(), 'digest', inMount)).toBe(after);

    await f.umount(mnt);
    await f.mount(id, mnt);
    expect(await py(script(), 'digest', inMount)).toBe(after);
    await f.umount(mnt);

    await f.cliOk(['commit', id, 'lamina.test/sqlite:committed'], 300_000);
    const ro = path.join(f.work, 'committed');
    await f.mount('lamina.test/sqlite:committed', ro, true);
    expect(await py(script(), 'digest', path.join(ro, DB), 'ro')).toBe(after);
    await f.umount(ro);
  }, 900_000);
});
