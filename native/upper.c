#include "upper.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

void fd_path(int fd, char buf[32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

int is_internal_xattr(const char *name)
{
	return !strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13) ||
	       !strncmp(name, "trusted.lamina.", 15);
}

static int has_name(const char *list, ssize_t len, const char *name)
{
	for (ssize_t i = 0; i < len; i += strlen(list + i) + 1)
		if (!strcmp(list + i, name))
			return 1;
	return 0;
}

/* `follow`: path is a /proc/self/fd magic link, to be followed to the inode it names. */
static int markers_of(const char *path, int follow, struct markers *m)
{
	ssize_t (*list_fn)(const char *, char *, size_t) = follow ? listxattr : llistxattr;
	ssize_t (*get_fn)(const char *, const char *, void *, size_t) = follow ? getxattr : lgetxattr;
	char list[4096], val[32];
	ssize_t len, n;
	memset(m, 0, sizeof *m);
	len = list_fn(path, list, sizeof list);
	if (len < 0)
		return errno == ERANGE ? 0 : errno; /* a huge list holds user xattrs; ours come first in practice */
	if (has_name(list, len, OVL_OPAQUE) && (n = get_fn(path, OVL_OPAQUE, val, 1)) == 1 && val[0] == 'y')
		m->opaque = 1;
	m->metacopy = has_name(list, len, OVL_METACOPY);
	if (has_name(list, len, OVL_REDIRECT) && (n = get_fn(path, OVL_REDIRECT, m->redirect, sizeof m->redirect - 1)) > 0)
		m->redirect[n] = 0;
	if (has_name(list, len, LAMINA_INO) && (n = get_fn(path, LAMINA_INO, val, sizeof val - 1)) > 0) {
		val[n] = 0;
		m->origin = strtoull(val, NULL, 10);
	}
	return 0;
}

int read_markers(int fd, struct markers *m)
{
	char path[32];
	fd_path(fd, path);
	return markers_of(path, 1, m);
}

int read_markers_at(int dirfd, const char *name, struct markers *m)
{
	char path[300];
	snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dirfd, name);
	return markers_of(path, 0, m);
}

int set_xattr(int fd, const char *name, const void *val, size_t len)
{
	char path[32];
	fd_path(fd, path);
	return setxattr(path, name, val, len, 0) ? errno : 0;
}

int remove_xattr(int fd, const char *name)
{
	char path[32];
	fd_path(fd, path);
	return removexattr(path, name) && errno != ENODATA ? errno : 0;
}

int set_origin(int fd, uint64_t lower_ino)
{
	char val[32];
	int n = snprintf(val, sizeof val, "%" PRIu64, lower_ino);
	return set_xattr(fd, LAMINA_INO, val, n);
}

int make_whiteout(int dirfd, const char *name)
{
	return mknodat(dirfd, name, S_IFCHR | 0, makedev(0, 0)) ? errno : 0;
}

void temp_name(char buf[64])
{
	static atomic_ullong counter;
	snprintf(buf, 64, "tmp-%d-%llu", (int)getpid(), (unsigned long long)atomic_fetch_add(&counter, 1));
}
