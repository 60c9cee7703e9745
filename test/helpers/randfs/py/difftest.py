"""Random-operation differential test: the same seeded operations on a mount under test
and on a plain directory (the oracle) that starts as the same tree; after every
operation compare the results (return value or errno, data read, names listed, xattrs),
lstat of every path the operation touched (and their parents and other hardlink names)
and fstat of every held fd; every 500 operations and at the end, the whole trees.

Times: an mtime set explicitly must be equal to the nanosecond. Times set implicitly
differ between the two trees (wall clocks move), so then only "changed vs unchanged"
is compared, and a changed time must be current; an inode whose mtime was set
implicitly is "tainted" until an explicit set makes both equal again. ctime is only
ever compared as changed/unchanged. atime only right after an explicit utimens.

After a difference, the paths involved are "diverged": later operations leave them
alone, so one bug is counted about once rather than poisoning the rest of the run.

  python3 difftest.py --seed N --ops 2000 MOUNT ORACLE [--stop-at-first] [--non-utf8]

Prints one JSON summary on stdout."""
import argparse
import collections
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fsrecord import walk  # noqa: E402
from ops import Generator, Side, Tree, apply, apply_both_as, is_under, join, parent, stat_fields  # noqa: E402
from syscalls import UTIME_NOW, UTIME_OMIT  # noqa: E402

STRUCTURAL = {'open', 'mkdir', 'rmdir', 'unlink', 'rename', 'rename_noreplace', 'rename_exchange', 'link', 'symlink',
              'mkfifo', 'mknod', 'mksock'}
READ_ONLY = {'read', 'pread', 'fstat', 'readlink', 'getxattr', 'listxattr', 'readdir'}
TREE_EVERY = 500
SLACK_NS = 2_000_000_000


def show_bytes(b, limit=80):
    """Printable ASCII as is, other bytes as \\xNN; long ones keep their start and their end."""
    s = ''.join(chr(c) if 0x20 <= c < 0x7f and c != 0x5c else '\\x%02x' % c for c in b)
    return s if len(s) <= limit else '%s…%s (%d bytes)' % (s[:limit // 3], s[-(limit * 2 // 3):], len(b))


def show_op(op):
    parts = [op['op'] + (' as uid %d' % op['user'] if 'user' in op else '')]
    for k, v in op.items():
        if k in ('op', 'user'):
            continue
        if k in ('data', 'value'):
            v = '<%d bytes>' % len(v)
        elif isinstance(v, bytes):
            v = '/' + show_bytes(v) if k in ('path', 'path2') else show_bytes(v)
        elif k in ('mode', 'mask'):
            v = '0%o' % v
        elif k in ('atime', 'mtime'):
            v = {UTIME_NOW: 'UTIME_NOW', UTIME_OMIT: 'UTIME_OMIT'}.get(v[1], '%d.%09d' % v)
        parts.append('%s=%s' % (k, v))
    return ' '.join(str(p) for p in parts)


def show_result(r):
    if 'err' in r:
        return r['err']
    if 'data' in r:
        return '<%d bytes>' % len(r['data'])
    if 'names' in r:
        return '[%s]' % ', '.join(show_bytes(n) if isinstance(n, bytes) else n for n in r['names'][:12])
    if 'value' in r:
        return '<xattr %s>' % show_bytes(r['value'], 24)
    if 'target' in r:
        return '-> ' + show_bytes(r['target'])
    return json.dumps({k: v for k, v in r.items() if k != 'ok'}) if set(r) != {'ok'} else 'ok'


def lstat_or_none(side, rel):
    try:
        return os.lstat(side.full(rel))
    except OSError:
        return None


def fstat_or_none(side, fid):
    fd = side.fds.get(fid)
    try:
        return os.fstat(fd) if fd is not None else None
    except OSError:
        return None


class Run:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.gen = Generator(self.rng, args.non_utf8)
        self.mount = Side('mount', os.fsencode(args.mount))
        self.oracle = Side('oracle', os.fsencode(args.oracle))
        self.tree = Tree.scan(self.oracle.root)
        self.diverged = set()
        self.tainted = set()  # oracle inodes whose mtime was set implicitly
        self.fds = {}  # id -> {'diverged': bool, 'ino': oracle inode}
        self.history = collections.deque(maxlen=8)
        self.categories = collections.Counter()
        self.examples = []
        self.first = None
        self.differing_ops = 0
        self.executed = 0
        self.user_ops = 0
        self.tree_diffs = []
        self.dir_nlink = {}  # directory -> first wrong st_nlink seen

    def blocked(self, rel):
        return any(is_under(rel, d) for d in self.diverged)

    # -- one operation -------------------------------------------------------

    def step(self, index):
        op = self.draw()
        if not op:
            return
        watch = self.watch_list(op)
        before = self.stats_before(watch)
        res_m, res_o, wall = self.execute(op)
        self.executed += 1
        diffs = self.compare(op, watch, before, res_m, res_o, wall)
        self.bookkeeping(op, res_m, res_o)
        self.history.append('%d: %s -> mount %s, oracle %s' % (index, show_op(op), show_result(res_m), show_result(res_o)))
        if self.args.trace:
            print(self.history[-1], file=sys.stderr)
            for d in diffs:
                print('    DIFF %s [%s]' % d[:2], file=sys.stderr)
        if diffs:
            self.record(index, op, res_m, res_o, diffs)
        if op['op'] in STRUCTURAL and 'err' not in res_o:
            self.tree = Tree.scan(self.oracle.root)

    def draw(self):
        for _ in range(50):
            op = self.gen.draw(self.tree, self.blocked, self.fds)
            if op and not self.moves_diverged(op):
                return op
        return None

    def stats_before(self, watch):
        """lstat by oracle inode (mount and oracle, at the same path), and fstat of every live fd."""
        by_ino = {}
        for _, rel in watch:
            m0, o0 = lstat_or_none(self.mount, rel), lstat_or_none(self.oracle, rel)
            if o0 is not None:
                by_ino[(o0.st_dev, o0.st_ino)] = (m0, o0)
        fds = {fid: (fstat_or_none(self.mount, fid), fstat_or_none(self.oracle, fid)) for fid in self.live_fds()}
        return by_ino, fds

    def execute(self, op):
        w0 = time.time_ns()
        if 'user' in op:
            res_m, res_o = apply_both_as(op, [self.mount, self.oracle], op['user'])
            self.user_ops += 1
        else:
            res_m, res_o = apply(op, self.mount), apply(op, self.oracle)
        for r in (res_m, res_o):
            for f in self.args.ignore:
                r.get('stat', {}).pop(f, None)
            if op['op'] == 'readdir' and 'names' in r:  # names of diverged entries differ already
                r['names'] = [n for n in r['names'] if not self.blocked(join(op['path'], n))]
        return res_m, res_o, (w0, time.time_ns())

    def compare(self, op, watch, before, res_m, res_o, wall):
        """Differences after `op`; after a different result only that one (what follows from it,
        a file not renamed and its parents' times, is not counted again, but does diverge)."""
        by_ino, fds = before
        closing_diverged = op['op'] == 'close' and self.fds.get(op['fd'], {}).get('diverged')
        diffs = [self.result_diff(op, res_m, res_o)] if res_m != res_o and not closing_diverged else []
        ctx = (op, wall, self.explicit_times_inode(op, res_m, res_o))
        for role, rel in watch:
            m1, o1 = lstat_or_none(self.mount, rel), lstat_or_none(self.oracle, rel)
            # times are compared per inode: after a rename the target path shows the source's inode
            m0, o0 = by_ino.get((o1.st_dev, o1.st_ino), (None, None)) if o1 is not None else (None, None)
            diffs += self.compare_stat(ctx, role, rel, m0, o0, m1, o1)
        for fid, (m0, o0) in fds.items():
            if fid in self.fds and not self.fds[fid]['diverged']:
                diffs += self.compare_stat(ctx, 'fd', fid, m0, o0, fstat_or_none(self.mount, fid), fstat_or_none(self.oracle, fid))
        if res_m == res_o:
            return diffs
        for d in diffs if closing_diverged else diffs[1:]:
            if d[2] is not None:
                self.mark_diverged(d[2])
        return [] if closing_diverged else diffs[:1]

    def moves_diverged(self, op):
        """Whether `op` would remove or move a directory that holds diverged entries."""
        if op['op'] not in ('rmdir', 'rename', 'rename_noreplace', 'rename_exchange'):
            return False
        return any(is_under(d, op[k]) for k in ('path', 'path2') if k in op for d in self.diverged)

    def explicit_times_inode(self, op, rm, ro):
        """The oracle inode whose times `op` just set explicitly, if it did."""
        if op['op'] not in ('utimens', 'futimens') or 'err' in rm or 'err' in ro:
            return None
        if op['op'] == 'futimens':
            return self.fds.get(op['fd'], {}).get('ino')
        st = lstat_or_none(self.oracle, op['path'])
        return (st.st_dev, st.st_ino) if st else None

    def live_fds(self):
        return [fid for fid, f in self.fds.items() if not f['diverged']]

    def watch_list(self, op):
        """(role, path) pairs whose lstat is compared around `op`."""
        out = []
        for key, role in (('path', 'target'), ('path2', 'target2')):
            if key in op:
                out += [(role, op[key]), ('parent' if role == 'target' else 'parent2', parent(op[key]))]
                out += [('hardlink', p) for p in self.tree.partners(op[key])]
        if 'fd' in op and op['fd'] in self.fds:
            ino = self.fds[op['fd']]['ino']
            out += [('same inode', p) for p, e in self.tree.entries.items() if e[1] == ino]
        seen, uniq = set(), []
        for role, p in out:
            if p not in seen and not self.blocked(p):
                seen.add(p)
                uniq.append((role, p))
        return uniq

    # -- comparisons ---------------------------------------------------------

    def result_diff(self, op, rm, ro):
        who = op['op'] + (' as uid %d' % op['user'] if 'user' in op else '')
        if 'err' not in rm and 'err' not in ro:
            what = 'different %s' % ', '.join(k for k in ro if rm.get(k) != ro.get(k))
        else:
            what = '%s (oracle %s)' % (show_result(rm) if 'err' in rm else 'ok', show_result(ro) if 'err' in ro else 'ok')
        return (who + ': ' + what, 'mount %s, oracle %s' % (show_result(rm), show_result(ro)), None)

    def compare_stat(self, ctx, role, where, m0, o0, m1, o1):
        """Differences as (category, detail, what diverged: a path, an fd id or None)."""
        op = ctx[0]
        name = op['op'] + (' as uid %d' % op['user'] if 'user' in op else '')
        label = '/' + show_bytes(where) if isinstance(where, bytes) else 'fd %d' % where
        if (m1 is None) != (o1 is None):
            return [('%s: %s %s' % (name, role, 'missing' if m1 is None else 'still there'), label, where)]
        if m1 is None:
            return []
        out = []
        fm, fo = stat_fields(m1), stat_fields(o1)
        if fo['type'] in ('fifo', 'socket', 'char', 'block'):
            role = '%s (%s)' % (role, fo['type'])
        for f in sorted(set(fm) | set(fo)):
            if fm.get(f) == fo.get(f) or f in self.args.ignore:
                continue
            shown = (oct(fm.get(f, 0)), oct(fo.get(f, 0))) if f == 'mode' else (fm.get(f), fo.get(f))
            if f == 'dirnlink':  # a property of the directory, not of this operation: counted once per directory
                if fm['type'] == fo['type']:
                    self.dir_nlink.setdefault(label, 'mount %s, oracle %s (first seen at %s)' % (*shown, name))
                continue
            out.append(('%s: %s of %s' % (name, f, role), '%s: mount %s, oracle %s' % (label, *shown), where))
        if fm['type'] == fo['type']:
            explicit = ctx[2] is not None and ctx[2] == (o1.st_dev, o1.st_ino)
            out += self.compare_times(ctx, explicit, name, role, label, m0, o0, m1, o1)
        return out

    def compare_times(self, ctx, explicit, name, role, label, m0, o0, m1, o1):
        op, wall, _ = ctx
        out = []
        key = (o1.st_dev, o1.st_ino)
        for f in ('st_mtime_ns', 'st_ctime_ns', 'st_atime_ns'):
            short = f[3:8]
            vm, vo = getattr(m1, f), getattr(o1, f)
            changed_m = m0 is None or getattr(m0, f) != vm
            changed_o = o0 is None or getattr(o0, f) != vo
            if short == 'atime':  # only right after utimens: reads update it by relatime rules
                how = op['atime'][1] if explicit else None
                if how == UTIME_OMIT and changed_m != changed_o:
                    out.append(self.change_diff(name, 'atime', role, label, changed_m, changed_o))
                elif how == UTIME_NOW and not (wall[0] - SLACK_NS <= vm <= wall[1] + SLACK_NS):
                    out.append(('%s: new atime of %s is not the current time' % (name, role), '%s: mount %d' % (label, vm), None))
                elif how not in (None, UTIME_NOW, UTIME_OMIT) and vm != vo:
                    out.append(('%s: atime not set as asked' % name, '%s: mount %d, oracle %d' % (label, vm, vo), None))
                continue
            if explicit and short == 'mtime' and op['mtime'][1] not in (UTIME_NOW, UTIME_OMIT):
                if vm != vo:
                    out.append(('%s: mtime not set as asked' % name, '%s: mount %d, oracle %d' % (label, vm, vo), None))
                    self.tainted.add(key)
                else:
                    self.tainted.discard(key)
                continue
            if changed_m != changed_o:
                out.append(self.change_diff(name, short, role, label, changed_m, changed_o))
            elif short == 'mtime' and key not in self.tainted and not changed_m and vm != vo:
                out.append(('%s: mtime of %s differs' % (name, role), '%s: mount %d, oracle %d' % (label, vm, vo), None))
            if changed_m and changed_o and not (wall[0] - SLACK_NS <= vm <= wall[1] + SLACK_NS):
                out.append(('%s: new %s of %s is not the current time' % (name, short, role), '%s: mount %d' % (label, vm), None))
            if short == 'mtime':
                if vm == vo:
                    self.tainted.discard(key)
                elif changed_m or changed_o:
                    self.tainted.add(key)
        return out

    @staticmethod
    def change_diff(name, field, role, label, changed_m, changed_o):
        how = lambda c: 'changed' if c else 'unchanged'  # noqa: E731
        return ('%s: %s %s on the mount (oracle: %s) of %s' % (name, field, how(changed_m), how(changed_o), role), label, None)

    # -- state after an operation -------------------------------------------

    def bookkeeping(self, op, rm, ro):
        k = op['op']
        if 'hold' in op and ('ok' in rm or 'ok' in ro):
            ino = None
            if 'ok' in ro:
                st = os.fstat(self.oracle.fds[op['hold']])
                ino = (st.st_dev, st.st_ino)
            self.fds[op['hold']] = {'diverged': rm != ro, 'ino': ino}
        if k == 'close':
            self.fds.pop(op['fd'], None)
        if rm == ro:
            if 'err' not in ro and k in ('rename', 'rename_noreplace', 'rename_exchange'):
                self.move_diverged(op['path'], op['path2'], k == 'rename_exchange')
            return
        if 'fd' in op and op['fd'] in self.fds:
            self.fds[op['fd']]['diverged'] = True
        if k == 'readdir' and 'names' in rm and 'names' in ro:
            for n in set(rm['names']) ^ set(ro['names']):
                self.diverged.add(join(op['path'], n))
        elif k not in READ_ONLY or k in ('getxattr', 'listxattr', 'readlink'):
            for key in ('path', 'path2'):
                if key in op:
                    self.diverged.add(op[key])

    def move_diverged(self, a, b, exchange):
        if a == b:
            return

        def moved(d, src, dst):
            return dst + d[len(src):] if is_under(d, src) else None
        out = set()
        for d in self.diverged:
            if exchange:
                out.add(moved(d, a, b) or moved(d, b, a) or d)
            elif is_under(d, b):
                continue  # replaced by the rename
            else:
                out.add(moved(d, a, b) or d)
        self.diverged = out

    def mark_diverged(self, where):
        """A state difference: leave that path (or fd) alone from now on."""
        if isinstance(where, bytes):
            self.diverged.add(where)
        elif where in self.fds:
            self.fds[where]['diverged'] = True

    def record(self, index, op, rm, ro, diffs):
        self.differing_ops += 1
        for cat, detail, where in diffs:
            self.categories[cat] += 1
            if len(self.examples) < 60:
                self.examples.append('%d: %s: %s [%s]' % (index, show_op(op), cat, detail))
            self.mark_diverged(where)
        if self.first is None:
            self.first = {'index': index, 'op': show_op(op), 'mount': show_result(rm), 'oracle': show_result(ro),
                          'diffs': ['%s [%s]' % d[:2] for d in diffs], 'context': list(self.history)[:-1]}

    # -- whole trees -----------------------------------------------------------

    def compare_trees(self, label):
        skip = self.blocked
        m = {r['path']: r for r in walk(self.mount.root, skip)}
        o = {r['path']: r for r in walk(self.oracle.root, skip)}
        groups_m, groups_o = hardlink_groups(m), hardlink_groups(o)
        out = []
        for p in sorted(set(m) | set(o)):
            shown = '/' + show_bytes(bytes.fromhex(p))
            if p not in m or p not in o:
                out.append('%s: %s only on the %s' % (label, shown, 'mount' if p in m else 'oracle'))
                self.diverged.add(bytes.fromhex(p))
                continue
            rm, ro = m[p], o[p]
            tainted = tuple(int(x) for x in ro['ino'].split(':')) in self.tainted
            for f in ('type', 'mode', 'uid', 'gid', 'size', 'sha256', 'link', 'rdev', 'xattrs', 'nlink', 'mtime'):
                va, vb = rm.get(f), ro.get(f)
                if va == vb or (f == 'mtime' and tainted):
                    continue
                if f == 'mode':
                    va, vb = oct(va), oct(vb)
                if f == 'nlink' and ro['type'] == 'dir':
                    if 'dirnlink' not in self.args.ignore:
                        self.dir_nlink.setdefault(shown, 'mount %s, oracle %s (%s)' % (va, vb, label))
                    continue
                out.append('%s: %s %s: mount %s, oracle %s' % (label, shown, f, va, vb))
                if f != 'mtime':
                    self.diverged.add(bytes.fromhex(p))
            if ro['type'] != 'dir' and groups_m.get(p) != groups_o.get(p):
                out.append('%s: %s hardlinks: mount [%s], oracle [%s]' % (label, shown, groups_m.get(p), groups_o.get(p)))
        self.tree_diffs += out

    def finish(self):
        for fid in list(self.fds):
            for s in (self.mount, self.oracle):
                if fid in s.fds:
                    os.close(s.fds.pop(fid))
        self.compare_trees('final tree')


def hardlink_groups(records):
    by_ino = collections.defaultdict(list)
    for p, r in records.items():
        if r['type'] != 'dir':
            by_ino[r['ino']].append(p)
    out = {}
    for paths in by_ino.values():
        g = ' '.join('/' + show_bytes(bytes.fromhex(x), 40) for x in sorted(paths))
        for x in paths:
            out[x] = g
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('mount')
    ap.add_argument('oracle')
    ap.add_argument('--seed', type=int, required=True)
    ap.add_argument('--ops', type=int, default=2000)
    ap.add_argument('--stop-at-first', action='store_true')
    ap.add_argument('--non-utf8', action='store_true')
    ap.add_argument('--trace', action='store_true', help='print every operation and difference on stderr')
    ap.add_argument('--ignore', action='append', default=[], metavar='FIELD',
                    help='a stat field not to compare (a known deviation of the mount), e.g. dirnlink')
    args = ap.parse_args()
    os.umask(0o022)
    t0 = time.time()
    run = Run(args)
    for i in range(args.ops):
        run.step(i)
        if args.stop_at_first and run.first:
            break
        if (i + 1) % TREE_EVERY == 0 and i + 1 < args.ops:
            run.compare_trees('tree after %d ops' % (i + 1))
    run.finish()
    json.dump({
        'seed': args.seed, 'ops': args.ops, 'executed': run.executed, 'userOps': run.user_ops,
        'differingOps': run.differing_ops, 'categories': dict(run.categories.most_common()),
        'first': run.first, 'examples': run.examples, 'treeDiffs': len(run.tree_diffs),
        'treeExamples': run.tree_diffs[:200], 'divergedPaths': len(run.diverged),
        'dirNlink': len(run.dir_nlink), 'dirNlinkExamples': ['%s: %s' % kv for kv in list(run.dir_nlink.items())[:5]],
        'seconds': round(time.time() - t0, 1),
    }, sys.stdout, indent=1)


if __name__ == '__main__':
    main()
