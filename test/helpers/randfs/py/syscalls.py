"""The system calls Python's os module does not offer: renameat2 (RENAME_NOREPLACE,
RENAME_EXCHANGE) and utimensat with UTIME_NOW / UTIME_OMIT."""
import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2


class Timespec(ctypes.Structure):
    _fields_ = [('tv_sec', ctypes.c_long), ('tv_nsec', ctypes.c_long)]


def _check(ret, *paths):
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), *paths[:1])


def renameat2(old, new, flags):
    _check(_libc.renameat2(AT_FDCWD, old, AT_FDCWD, new, ctypes.c_uint(flags)), old)


def utimensat(path, atime, mtime, nofollow):
    """atime/mtime: (sec, nsec) where nsec may be UTIME_NOW or UTIME_OMIT."""
    times = (Timespec * 2)(Timespec(*atime), Timespec(*mtime))
    _check(_libc.utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW if nofollow else 0), path)


def futimens(fd, atime, mtime):
    times = (Timespec * 2)(Timespec(*atime), Timespec(*mtime))
    _check(_libc.futimens(fd, times))
