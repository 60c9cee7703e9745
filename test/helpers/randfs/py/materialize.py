"""Create a tree from a JSON list of entries, exactly (owners, modes incl. setuid bits,
nanosecond mtimes, binary xattrs, devices, hardlinks): the oracle directory of the
differential test, and layer directories in overlayfs' format (a whiteout is a char
device 0/0, an opaque directory has trusted.overlay.opaque=y).

  python3 materialize.py SPEC.json      SPEC: [{"root": DIR, "entries": [...]}, ...]

Entry: {"path": hex, "type": file|dir|symlink|fifo|char|block|whiteout|hardlink,
"mode", "uid", "gid", "mtime": [sec, nsec], "content": base64, "link": hex (symlink
target, or the path a hardlink shares), "rdev": [major, minor], "xattrs": {name: hex},
"opaque": bool}. Parents come before children; path "" is the root itself."""
import base64
import json
import os
import stat
import sys


def create(root, e):
    p = os.path.join(root, bytes.fromhex(e['path'])) if e['path'] else root
    t = e['type']
    if t == 'dir':
        if e['path']:
            os.mkdir(p, 0o700)
    elif t == 'file':
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'wb') as f:
            f.write(base64.b64decode(e.get('content', '')))
    elif t == 'symlink':
        os.symlink(bytes.fromhex(e['link']), p)
    elif t == 'hardlink':
        os.link(os.path.join(root, bytes.fromhex(e['link'])), p, follow_symlinks=False)
    elif t == 'fifo':
        os.mkfifo(p, 0o600)
    elif t in ('char', 'block'):
        kind = stat.S_IFCHR if t == 'char' else stat.S_IFBLK
        os.mknod(p, kind | 0o600, os.makedev(*e['rdev']))
    elif t == 'whiteout':
        os.mknod(p, stat.S_IFCHR, os.makedev(0, 0))
    return p


def finish(p, e):
    """Owner, then mode (chown clears setuid bits), then xattrs; times come last of all."""
    t = e['type']
    if t in ('hardlink', 'whiteout'):
        return
    os.chown(p, e['uid'], e['gid'], follow_symlinks=False)
    if t != 'symlink':
        os.chmod(p, e['mode'])
    for name, value in e.get('xattrs', {}).items():
        os.setxattr(p, name, bytes.fromhex(value), follow_symlinks=False)
    if e.get('opaque'):
        os.setxattr(p, 'trusted.overlay.opaque', b'y')


def materialize(spec):
    root = os.fsencode(spec['root'])
    os.makedirs(root, exist_ok=True)
    made = [(create(root, e), e) for e in spec['entries']]
    for p, e in made:
        finish(p, e)
    for p, e in made:
        if e['type'] not in ('hardlink', 'whiteout'):
            ns = e['mtime'][0] * 1_000_000_000 + e['mtime'][1]
            os.utime(p, ns=(ns, ns), follow_symlinks=False)


def main():
    with open(sys.argv[1]) as f:
        for spec in json.load(f):
            materialize(spec)


if __name__ == '__main__':
    main()
