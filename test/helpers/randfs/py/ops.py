"""Random filesystem operations: a seeded generator that picks targets from the oracle's
current tree, and an executor that applies one operation to one side (the mount under
test or the oracle directory) and returns what a program would observe.

Every operation is made safe to run against a tree full of hostile symlinks: nothing
follows a final-component symlink (O_NOFOLLOW, lchown, AT_SYMLINK_NOFOLLOW, l*xattr),
and calls that would follow one (truncate, chmod) first check the target with lstat.
Device nodes are never opened."""
import collections
import errno
import os
import pickle
import socket
import stat

from fsrecord import entries, kind_of
from syscalls import RENAME_EXCHANGE, RENAME_NOREPLACE, UTIME_NOW, UTIME_OMIT, futimens, renameat2, utimensat

NEW_NAMES = [b'n0', b'n1', b'n2', b'n3', b'n4', b'n5', b'with space', 'ü-ñ'.encode(), b'new\nline', b'.hidden', b'-dash']
NON_UTF8 = [b'\xff\xfe', b'bad\x80', b'caf\xe9']
MODES = [0o644, 0o600, 0o755, 0o777, 0o000, 0o4755, 0o2755, 0o1777, 0o6711, 0o640, 0o444, 0o1755, 0o2775]
IDS = [0, 1000, 1001, 65534]
XATTRS = ['user.a', 'user.b', 'user.' + 'x' * 200, 'user.mime_type', 'trusted.t']
DEVICES = [(1, 3), (1, 5), (4, 64), (10, 200)]
SIZES = [0, 1, 100, 511, 4096, 5000, 65543]
FLAG_BITS = {'O_CREAT': os.O_CREAT, 'O_EXCL': os.O_EXCL, 'O_TRUNC': os.O_TRUNC, 'O_APPEND': os.O_APPEND,
             'O_DIRECTORY': os.O_DIRECTORY}
ACCESS = {'O_RDONLY': os.O_RDONLY, 'O_WRONLY': os.O_WRONLY, 'O_RDWR': os.O_RDWR}
MAX_FDS = 8

# Operation weights. 'user' ops run as uid/gid 1000 in a forked child (permission checks).
WEIGHTS = {
    'open': 12, 'write': 8, 'pwrite': 6, 'read': 6, 'pread': 5, 'truncate': 3, 'ftruncate': 3, 'close': 4,
    'fstat': 2, 'fchmod': 1, 'futimens': 1, 'fsync': 1, 'mkdir': 5, 'rmdir': 3, 'unlink': 5, 'rename': 6,
    'rename_noreplace': 2, 'rename_exchange': 2, 'link': 4, 'symlink': 3, 'readlink': 1, 'mkfifo': 1, 'mknod': 1,
    'mksock': 1, 'chmod': 4, 'chown': 3, 'utimens': 4, 'setxattr': 3, 'removexattr': 2, 'getxattr': 2,
    'listxattr': 1, 'readdir': 3, 'umask': 1,
}
USER_OPS = ['open', 'truncate', 'mkdir', 'rmdir', 'unlink', 'rename', 'link', 'symlink', 'chmod', 'chown', 'utimens',
            'setxattr', 'removexattr', 'readdir', 'mkfifo']
USER_SHARE = 0.12
FD_OPS = ('write', 'pwrite', 'read', 'pread', 'ftruncate', 'fstat', 'fchmod', 'futimens', 'fsync', 'close')
USER_ID = 1000


def parent(rel):
    return rel.rpartition(b'/')[0]


def join(d, name):
    return d + b'/' + name if d else name


def is_under(p, d):
    return p == d or (p.startswith(d + b'/') if d else True)


class Tree:
    """The oracle's tree as the generator sees it: kind and inode of every path."""

    def __init__(self, entries):
        self.entries = entries  # rel -> (kind, ino, size)

    @classmethod
    def scan(cls, root):
        return cls({rel: (kind_of(st.st_mode), (st.st_dev, st.st_ino), st.st_size) for rel, st, _, _ in entries(root)})

    def partners(self, rel):
        """Other names of the same inode (hardlinks)."""
        e = self.entries.get(rel)
        if not e or e[0] == 'dir':
            return []
        return [p for p, f in self.entries.items() if f[1] == e[1] and p != rel]


class Generator:
    """Draws operations; `blocked(rel)` says which paths (diverged ones) to leave alone."""

    def __init__(self, rng, non_utf8=False):
        self.rng = rng
        self.names = NEW_NAMES + (NON_UTF8 if non_utf8 else [])
        self.fd_serial = 0
        # recently used paths are picked again often, so that operations meet: a write to a
        # file someone holds open, a rename of an open file, a link to a file just copied up
        self.recent = collections.deque(maxlen=12)

    def existing(self, tree, blocked, kinds=None, root=False):
        ok = lambda p: p in tree.entries and (root or p) and (kinds is None or tree.entries[p][0] in kinds) \
            and not blocked(p)  # noqa: E731
        hot = [p for p in self.recent if ok(p)]
        if hot and self.rng.random() < 0.4:
            return self.rng.choice(hot)
        cands = [p for p in tree.entries if ok(p)]
        return self.rng.choice(cands) if cands else None

    def fresh(self, tree, blocked):
        """A path in an existing directory, usually not existing yet (names repeat on purpose)."""
        d = self.existing(tree, blocked, ('dir',), root=True)
        if d is None:
            return None
        name = self.rng.choice(self.names)
        if self.rng.random() < 0.02:
            name = b'.wh.' + name  # a reserved name in OCI layers; overlayfs allows it
        p = join(d, name)
        return None if blocked(p) else p

    def target(self, tree, blocked, kinds=None, new_share=0.25):
        if self.rng.random() < new_share:
            return self.fresh(tree, blocked)
        return self.existing(tree, blocked, kinds)

    def time(self):
        r = self.rng.random()
        if r < 0.2:
            return (0, UTIME_NOW)
        if r < 0.35:
            return (0, UTIME_OMIT)
        return (self.rng.randrange(946684800, 1900000000), self.rng.choice([0, self.rng.randrange(1, 10 ** 9)]))

    def data(self):
        n = self.rng.choice(SIZES)
        pattern = bytes(self.rng.getrandbits(8) for _ in range(64))
        return (pattern * (n // 64 + 1))[:n]

    def draw(self, tree, blocked, fds):
        """One operation as a dict, or None when this draw found no target."""
        rng = self.rng
        user = rng.random() < USER_SHARE
        kind = rng.choice(USER_OPS) if user else rng.choices(list(WEIGHTS), list(WEIGHTS.values()))[0]
        op = {'op': kind}
        if user:
            op['user'] = USER_ID
        if kind in FD_OPS:
            pool = list(fds) if kind == 'close' else [i for i, f in fds.items() if not f['diverged']]
            if not pool:
                return None
            op['fd'] = rng.choice(pool)
        args = self.ARGS.get(kind)
        if args:
            args(self, op, tree, blocked, len(fds))
        if any(k in op and op[k] is None for k in ('path', 'path2')):
            return None
        self.recent.extend(op[k] for k in ('path', 'path2') if k in op)
        return op

    def _open(self, op, tree, blocked, held):
        rng = self.rng
        op['path'] = self.target(tree, blocked, ('file', 'dir', 'symlink', 'fifo'))
        access = rng.choice(['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_RDWR'])
        extra = [f for f, p in (('O_CREAT', .45), ('O_EXCL', .1), ('O_TRUNC', .2), ('O_APPEND', .2),
                                ('O_DIRECTORY', .05)) if rng.random() < p]
        op.update(flags=[access] + extra, mode=rng.choice(MODES + [0o666, 0o777]))
        if 'user' not in op and held < MAX_FDS and rng.random() < 0.6:
            self.fd_serial += 1
            op['hold'] = self.fd_serial

    def _io(self, op, tree, blocked, held):
        rng, k = self.rng, op['op']
        if k in ('write', 'pwrite'):
            op['data'] = self.data()
        if k in ('read', 'pread'):
            op['n'] = rng.choice([1, 100, 4096, 200000])
        if k in ('pwrite', 'pread'):
            op['off'] = rng.choice([0, 1, 100, 4095, 4096, 10000, 70000])
        if k in ('truncate', 'ftruncate'):
            op['size'] = rng.choice([0, 1, 50, 4096, 5000, 100000])
        if k == 'truncate':
            op['path'] = self.target(tree, blocked, ('file', 'dir'), 0.1)

    def _create(self, op, tree, blocked, held):
        rng = self.rng
        op['path'] = self.target(tree, blocked, None, 0.85)
        op['mode'] = rng.choice(MODES)
        if op['op'] == 'mknod':
            op['dev'] = rng.choice(DEVICES)
        if op['op'] == 'symlink':
            op['target'] = rng.choice([b'n0', b'../x', b'/etc/passwd', b'dangling', b'a' * 300])

    def _remove(self, op, tree, blocked, held):
        k = op['op']
        op['path'] = self.target(tree, blocked, {'rmdir': ('dir',), 'unlink': None, 'readlink': ('symlink',)}[k], 0.1)
        if k == 'unlink' and tree.entries.get(op['path'], ('',))[0] == 'dir' and self.rng.random() < 0.8:
            op['path'] = self.existing(tree, blocked, ('file', 'symlink', 'fifo', 'char', 'socket'))

    def _rename(self, op, tree, blocked, held):
        k = op['op']
        op['path'] = self.existing(tree, blocked, ('file', 'symlink', 'fifo') if k == 'link' else None)
        op['path2'] = self.target(tree, blocked, None, 0.1 if k == 'rename_exchange' else 0.5)

    def _attrs(self, op, tree, blocked, held):
        rng, k = self.rng, op['op']
        if k in ('chmod', 'fchmod'):
            op['mode'] = rng.choice(MODES) if rng.random() < 0.8 else rng.randrange(0o10000)
        if k == 'chmod':
            op['path'] = self.existing(tree, blocked, ('file', 'dir', 'fifo'), root=rng.random() < 0.05)
        if k == 'chown':
            op['path'] = self.existing(tree, blocked)
            ids = ([-1, -1, USER_ID, 0], [-1, USER_ID, 0]) if 'user' in op else (IDS + [-1], IDS + [-1])
            op['uid'], op['gid'] = rng.choice(ids[0]), rng.choice(ids[1])
        if k in ('utimens', 'futimens'):
            op['atime'], op['mtime'] = self.time(), self.time()
        if k == 'utimens':
            op['path'] = self.existing(tree, blocked, root=rng.random() < 0.05)
            op['nofollow'] = True

    def _xattr(self, op, tree, blocked, held):
        rng = self.rng
        op['path'] = self.existing(tree, blocked, ('file', 'dir') if rng.random() < 0.95 else None)
        op['name'] = rng.choice(XATTRS[:-1] if 'user' in op else XATTRS)
        if op['op'] == 'setxattr':
            op['value'] = bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 7, 100, 300])))
            op['xflags'] = rng.choice([0, 0, os.XATTR_CREATE, os.XATTR_REPLACE])

    def _other(self, op, tree, blocked, held):
        if op['op'] == 'readdir':
            op['path'] = self.existing(tree, blocked, ('dir',), root=True)
        if op['op'] == 'umask':
            op['mask'] = self.rng.choice([0, 0o022, 0o077, 0o002, 0o027])

    ARGS = {
        'open': _open, 'write': _io, 'pwrite': _io, 'read': _io, 'pread': _io, 'truncate': _io, 'ftruncate': _io,
        'mkdir': _create, 'mkfifo': _create, 'mknod': _create, 'mksock': _create, 'symlink': _create,
        'rmdir': _remove, 'unlink': _remove, 'readlink': _remove, 'rename': _rename, 'rename_noreplace': _rename,
        'rename_exchange': _rename, 'link': _rename, 'chmod': _attrs, 'fchmod': _attrs, 'chown': _attrs,
        'utimens': _attrs, 'futimens': _attrs, 'setxattr': _xattr, 'removexattr': _xattr, 'getxattr': _xattr,
        'listxattr': _xattr, 'readdir': _other, 'umask': _other,
    }


# ---------------------------------------------------------------------------
# Executing one operation on one side


class Side:
    """One tree under test: the mount or the oracle, with its own held fds."""

    def __init__(self, name, root):
        self.name = name
        self.root = root
        self.fds = {}

    def full(self, rel):
        return self.root + b'/' + rel if rel else self.root


def flags_of(names):
    f = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # O_NONBLOCK: a fifo must not block the run
    for n in names:
        f |= ACCESS.get(n, 0) | FLAG_BITS.get(n, 0)
    return f


class Unsafe(Exception):
    """The target is of a kind this operation must not touch (it would follow a symlink)."""


def guard(path, allowed):
    try:
        kind = kind_of(os.lstat(path).st_mode)
    except OSError:
        return  # let the real call report ENOENT and friends
    if kind not in allowed:
        raise Unsafe(kind)


def apply(op, side):
    """Runs `op` on `side`; returns what a program sees: a dict, or {'err': 'ENOENT'}."""
    try:
        return _apply(op, side)
    except OSError as e:
        return {'err': errno.errorcode.get(e.errno, str(e.errno))}
    except Unsafe as e:
        return {'err': 'UNSAFE-' + str(e)}


def _apply(op, s):
    a = Args(op, s)
    if 'fd' in op and a.fd is None:
        return {'err': 'NO-FD'}
    out = CALLS[op['op']](a)
    return out if isinstance(out, dict) else {'ok': 1}


class Args:
    """An operation's arguments resolved on one side: full paths and the side's own fd."""

    def __init__(self, op, side):
        self.op, self.side = op, side
        self.p = side.full(op['path']) if 'path' in op else None
        self.p2 = side.full(op['path2']) if 'path2' in op else None
        self.fd = side.fds.get(op['fd']) if 'fd' in op else None

    def __getitem__(self, key):
        return self.op[key]


def _call_open(a):
    guard(a.p, ('file', 'dir', 'symlink', 'fifo'))
    f = os.open(a.p, flags_of(a['flags']), a['mode'])
    if 'hold' in a.op:
        a.side.fds[a['hold']] = f
    else:
        os.close(f)


def _guarded(allowed, call):
    def run(a):
        guard(a.p, allowed)
        return call(a)
    return run


# One entry per operation: what it calls, and what it returns besides success.
CALLS = {
    'open': _call_open,
    'write': lambda a: {'n': os.write(a.fd, a['data'])},
    'pwrite': lambda a: {'n': os.pwrite(a.fd, a['data'], a['off'])},
    'read': lambda a: {'data': os.read(a.fd, a['n'])},
    'pread': lambda a: {'data': os.pread(a.fd, a['n'], a['off'])},
    'ftruncate': lambda a: os.ftruncate(a.fd, a['size']),
    'truncate': _guarded(('file', 'dir'), lambda a: os.truncate(a.p, a['size'])),
    'close': lambda a: os.close(a.side.fds.pop(a['fd'])),
    'fstat': lambda a: {'stat': stat_fields(os.fstat(a.fd))},
    'fchmod': lambda a: os.fchmod(a.fd, a['mode']),
    'futimens': lambda a: futimens(a.fd, a['atime'], a['mtime']),
    'fsync': lambda a: os.fsync(a.fd),
    'mkdir': lambda a: os.mkdir(a.p, a['mode']),
    'mkfifo': lambda a: os.mkfifo(a.p, a['mode']),
    'mknod': lambda a: os.mknod(a.p, stat.S_IFCHR | a['mode'], os.makedev(*a['dev'])),
    'mksock': lambda a: mksock(a.p),
    'symlink': lambda a: os.symlink(a['target'], a.p),
    'readlink': lambda a: {'target': os.readlink(a.p)},
    'rmdir': lambda a: os.rmdir(a.p),
    'unlink': lambda a: os.unlink(a.p),
    'rename': lambda a: os.rename(a.p, a.p2),
    'rename_noreplace': lambda a: renameat2(a.p, a.p2, RENAME_NOREPLACE),
    'rename_exchange': lambda a: renameat2(a.p, a.p2, RENAME_EXCHANGE),
    'link': lambda a: os.link(a.p, a.p2, follow_symlinks=False),
    'chmod': _guarded(('file', 'dir', 'fifo'), lambda a: os.chmod(a.p, a['mode'])),
    'chown': lambda a: os.chown(a.p, a['uid'], a['gid'], follow_symlinks=False),
    'utimens': lambda a: utimensat(a.p, a['atime'], a['mtime'], a['nofollow']),
    'setxattr': lambda a: os.setxattr(a.p, a['name'], a['value'], a['xflags'], follow_symlinks=False),
    'removexattr': lambda a: os.removexattr(a.p, a['name'], follow_symlinks=False),
    'getxattr': lambda a: {'value': os.getxattr(a.p, a['name'], follow_symlinks=False)},
    'listxattr': lambda a: {'names': sorted(os.listxattr(a.p, follow_symlinks=False))},
    'readdir': _guarded(('dir',), lambda a: {'names': sorted(os.fsencode(n) for n in os.listdir(a.p))}),
    'umask': lambda a: os.umask(a['mask']),
}


def mksock(path):
    """bind() a Unix socket at `path` (from its directory: sun_path holds 108 bytes)."""
    d, _, name = path.rpartition(b'/')
    here = os.open('.', os.O_RDONLY | os.O_DIRECTORY)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.chdir(d)
        sock.bind(name)
        return {'ok': 1}
    finally:
        sock.close()
        os.fchdir(here)
        os.close(here)


def stat_fields(st):
    """What a stat call shows that two correct filesystems agree on (times apart)."""
    kind = kind_of(st.st_mode)
    r = {'type': kind, 'mode': stat.S_IMODE(st.st_mode), 'uid': st.st_uid, 'gid': st.st_gid}
    if kind == 'dir':
        r['dirnlink'] = st.st_nlink
    else:
        r['nlink'] = st.st_nlink
        r['size'] = st.st_size
    if kind in ('char', 'block'):
        r['rdev'] = (os.major(st.st_rdev), os.minor(st.st_rdev))
    return r


def apply_both_as(op, sides, uid):
    """Runs `op` on each side in a child process with uid/gid `uid` (no supplementary groups)."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(rfd)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            out = pickle.dumps([apply(op, s) for s in sides])
            with os.fdopen(wfd, 'wb') as w:
                w.write(out)
        finally:
            os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd, 'rb') as r:
        data = r.read()
    os.waitpid(pid, 0)
    return pickle.loads(data) if data else [{'err': 'CHILD-FAILED'}] * len(sides)
