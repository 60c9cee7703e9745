"""One record per filesystem entry, in the JSON form the TypeScript side compares
(test/helpers/randfs/tree-records.ts): paths, link targets and xattr values as hex
of their bytes, mtime as "SEC.NSEC", nothing that differs between two correct
filesystems holding the same tree (st_ino, st_dev, st_blocks, directory sizes)."""
import hashlib
import os
import stat

TYPES = {stat.S_IFREG: 'file', stat.S_IFDIR: 'dir', stat.S_IFLNK: 'symlink', stat.S_IFIFO: 'fifo',
         stat.S_IFCHR: 'char', stat.S_IFBLK: 'block', stat.S_IFSOCK: 'socket'}


def kind_of(mode):
    return TYPES[stat.S_IFMT(mode)]


def ns_text(ns):
    sec, nsec = divmod(ns, 1_000_000_000)
    return '%d.%09d' % (sec, nsec)


def proc_path(dir_fd, name):
    """A short path to `name` in an open directory (xattr calls take no dir_fd); the
    directory itself when `name` is empty (then the fd, not its magic link)."""
    return b'/proc/self/fd/%d/%s' % (dir_fd, name) if name else dir_fd


def xattrs_of(path):
    out = {}
    follow = isinstance(path, int)
    try:
        names = os.listxattr(path, follow_symlinks=follow)
    except OSError:
        return out
    for n in names:
        try:
            out[n] = os.getxattr(path, n, follow_symlinks=follow).hex()
        except OSError as e:
            out[n] = 'error:' + os.strerror(e.errno)
    return out


def sha256_fd(fd):
    h = hashlib.sha256()
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            return h.hexdigest()
        h.update(b)


def record(rel, st, dir_fd, name, content=True):
    """The record of one entry; `name` is relative to the open directory `dir_fd`."""
    kind = kind_of(st.st_mode)
    r = {'path': rel.hex(), 'type': kind, 'mode': stat.S_IMODE(st.st_mode), 'uid': st.st_uid, 'gid': st.st_gid,
         'nlink': st.st_nlink, 'ino': '%d:%d' % (st.st_dev, st.st_ino), 'mtime': ns_text(st.st_mtime_ns)}
    if kind in ('file', 'symlink'):
        r['size'] = st.st_size
    if kind == 'symlink':
        r['link'] = os.readlink(name, dir_fd=dir_fd).hex()
    if kind in ('char', 'block'):
        r['rdev'] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
    if kind == 'file' and content:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
        try:
            r['sha256'] = sha256_fd(fd)
        finally:
            os.close(fd)
    r['xattrs'] = xattrs_of(proc_path(dir_fd, name))
    return r


def entries(root, skip=lambda rel: False):
    """(relative path, lstat, open parent dir fd, name) for everything under `root` (bytes),
    root included as path ''; names sorted. Directories are opened one by one (O_NOFOLLOW),
    so paths longer than PATH_MAX still work; the fd is only valid during the step."""
    top = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield b'', os.fstat(top), top, b''
        yield from _entries(top, b'', skip)
    finally:
        os.close(top)


def _entries(dir_fd, rel, skip):
    for name in sorted(os.listdir(dir_fd)):
        name = os.fsencode(name)
        child = rel + b'/' + name if rel else name
        if skip(child):
            continue
        st = os.lstat(name, dir_fd=dir_fd)
        yield child, st, dir_fd, name
        if stat.S_ISDIR(st.st_mode):
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            try:
                yield from _entries(fd, child, skip)
            finally:
                os.close(fd)


def walk(root, skip=lambda rel: False):
    """Records of everything under `root`."""
    return [record(rel, st, dir_fd, name) for rel, st, dir_fd, name in entries(root, skip)]
