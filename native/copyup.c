#include "copyup.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "links.h"

#define CHUNK (1 << 20)
#define HOLE_BLOCK (64 << 10)

static int all_zero(const char *p, size_t len)
{
	static const char zero[HOLE_BLOCK];
	return len <= sizeof zero && !memcmp(p, zero, len);
}

/* Writes the blocks of `buf` that are not all zero; zero blocks stay holes. */
static int write_nonzero(int fd, const char *buf, size_t len, off_t at)
{
	for (size_t off = 0; off < len; off += HOLE_BLOCK) {
		size_t n = len - off < HOLE_BLOCK ? len - off : HOLE_BLOCK;
		if (all_zero(buf + off, n))
			continue;
		for (size_t done = 0; done < n;) {
			ssize_t w = pwrite(fd, buf + off + done, n - done, at + off + done);
			if (w < 0)
				return errno;
			done += w;
		}
	}
	return 0;
}

int copy_lower_data(struct server *s, uint64_t ino, int fd, uint64_t len)
{
	const struct view_inode *n = view_inode(&s->view, ino);
	int src = s->layer_fds[n->layer], err = 0;
	char *buf;
	if (len > n->size)
		len = n->size;
	if (!len)
		return 0;
	buf = malloc(CHUNK);
	if (!buf)
		return ENOMEM;
	for (uint64_t pos = 0; pos < len && !err;) {
		size_t want = len - pos < CHUNK ? len - pos : CHUNK;
		ssize_t r = pread(src, buf, want, n->data + pos);
		if (r <= 0) {
			err = r < 0 ? errno : EIO; /* the layer tar ends early */
			break;
		}
		err = write_nonzero(fd, buf, r, pos);
		pos += r;
	}
	free(buf);
	return err;
}

/* The temp entry: the lower object's type and, for files, as much data as `kind` asks. */
static int create_temp(struct server *s, uint64_t ino, enum copy_kind kind, const char *tmp)
{
	const struct view_inode *src = view_inode(&s->view, ino);
	char target[4097];
	int fd, err = 0;
	switch (src->mode & S_IFMT) {
	case S_IFDIR:
		return mkdirat(s->work_fd, tmp, 0700) ? errno : 0;
	case S_IFLNK:
		if (src->size >= sizeof target)
			return ENAMETOOLONG;
		memcpy(target, view_name(&s->view, src->data), src->size);
		target[src->size] = 0;
		return symlinkat(target, s->work_fd, tmp) ? errno : 0;
	case S_IFREG:
		fd = openat(s->work_fd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0)
			return errno;
		if (kind == COPY_DATA)
			err = copy_lower_data(s, ino, fd, src->size);
		if (!err && kind != COPY_EMPTY && ftruncate(fd, src->size))
			err = errno;
		close(fd);
		return err;
	default:
		return mknodat(s->work_fd, tmp, (src->mode & S_IFMT) | 0600, src->data) ? errno : 0;
	}
}

static int copy_xattrs(struct server *s, uint64_t ino, const char *path)
{
	const struct view_inode *src = view_inode(&s->view, ino);
	const uint8_t *r = s->view.xattrs + src->xattr_off, *end = r + src->xattr_len;
	while (r < end) {
		uint16_t nlen;
		uint32_t vlen;
		char name[VIEW_MAX_NAME + 1];
		memcpy(&nlen, r, 2);
		memcpy(&vlen, r + 4, 4);
		memcpy(name, r + 8, nlen);
		name[nlen] = 0;
		/* a layer's own overlay markers are data, not markers: never copy them into ours */
		if (!is_internal_xattr(name) && setxattr(path, name, r + 8 + nlen, vlen, 0) &&
		    !(errno == EPERM && !S_ISREG(src->mode) && !S_ISDIR(src->mode)))
			return errno;
		r += 8 + nlen + vlen;
	}
	return 0;
}

/* Owner, then mode (chown clears setuid), xattrs, markers, then times last. */
int copy_attrs(struct server *s, uint64_t ino, int fd, enum copy_kind kind)
{
	const struct view_inode *src = view_inode(&s->view, ino);
	struct timespec ts[2] = { { src->mtime_sec, src->mtime_nsec }, { src->mtime_sec, src->mtime_nsec } };
	char path[32];
	int err;
	fd_path(fd, path);
	if (fchownat(fd, "", src->uid, src->gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return errno;
	if (!S_ISLNK(src->mode) && chmod(path, src->mode & 07777))
		return errno;
	if ((err = copy_xattrs(s, ino, path)) || (err = set_origin(fd, ino)))
		return err;
	if (S_ISREG(src->mode) && kind == COPY_META && (err = set_xattr(fd, OVL_METACOPY, "", 0)))
		return err;
	return utimensat(AT_FDCWD, path, ts, 0) ? errno : 0;
}

static int open_entry(int dirfd, const char *name, mode_t type)
{
	return openat(dirfd, name, (S_ISDIR(type) ? O_RDONLY | O_DIRECTORY : O_PATH) | O_NOFOLLOW | O_CLOEXEC);
}

/* Builds the copy of lower object `ino` in the work dir and renames it to `name` in `dirfd`;
 * returns the new entry's fd in *fd. An existing directory there (a racing copy) is adopted. */
int copy_lower_into(struct server *s, uint64_t ino, enum copy_kind kind, int dirfd, const char *name, int *fd)
{
	mode_t type = view_inode(&s->view, ino)->mode & S_IFMT;
	char tmp[64];
	int err, tfd;
	struct stat st, parent;
	if (fstat(dirfd, &parent))
		return errno;
	temp_name(tmp);
	if ((err = create_temp(s, ino, kind, tmp))) {
		unlinkat(s->work_fd, tmp, S_ISDIR(type) ? AT_REMOVEDIR : 0); /* a part-written file goes too */
		return err;
	}
	tfd = open_entry(s->work_fd, tmp, type);
	err = tfd < 0 ? errno : copy_attrs(s, ino, tfd, kind);
	if (tfd >= 0)
		close(tfd);
	if (!err && renameat2(s->work_fd, tmp, dirfd, name, RENAME_NOREPLACE))
		err = errno;
	if (!err) /* a copy-up changes nothing the user can see: the parent keeps its times */
		futimens(dirfd, (struct timespec[2]){ parent.st_atim, parent.st_mtim });
	if (err) {
		unlinkat(s->work_fd, tmp, S_ISDIR(type) ? AT_REMOVEDIR : 0);
		if (err != EEXIST || !S_ISDIR(type) || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(st.st_mode))
			return err == EEXIST ? ENOENT : err; /* a whiteout or another entry took the name meanwhile */
	}
	*fd = open_entry(dirfd, name, type);
	return *fd < 0 ? errno : 0;
}

/* A metacopy file's data comes up: filled in place, then the marker goes. On failure the file
 * is cut back to one hole with its times kept, and stays metacopy. */
static int fill_metacopy(struct server *s, struct node *n, enum copy_kind kind)
{
	char path[32];
	struct stat st;
	int fd, err = 0;
	fd_path(n->upper_fd, path);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st))
		err = errno;
	if (!err && kind == COPY_DATA)
		err = copy_lower_data(s, n->lower_data, fd, st.st_size);
	if (!err && kind == COPY_EMPTY && ftruncate(fd, 0))
		err = errno;
	if (err && kind == COPY_DATA && !ftruncate(fd, 0) && ftruncate(fd, st.st_size)) {
		/* nothing more can be undone */
	}
	futimens(fd, (struct timespec[2]){ st.st_atim, st.st_mtim });
	close(fd);
	if (!err && !(err = remove_xattr(n->upper_fd, OVL_METACOPY)))
		err = remove_xattr(n->upper_fd, OVL_REDIRECT);
	if (!err)
		n->metacopy = 0;
	return err;
}

/* With n locked: what is left to do when `n` already has an upper entry. */
static int finish_upper(struct server *s, struct node *n, enum copy_kind kind)
{
	if (!n->metacopy || kind == COPY_META)
		return 0;
	return fill_metacopy(s, n, kind);
}

static int copy_node(struct server *s, struct node *n, const struct cursor *c, const char *name, enum copy_kind kind)
{
	struct stat st;
	uint64_t ino = S_ISDIR(n->type) ? n->lower_dir : n->lower_data;
	int err, fd;
	if (!ino)
		return EIO; /* neither upper nor lower: cannot happen for a live node */
	if (!S_ISDIR(n->type) && view_inode(&s->view, ino)->nlink > 1)
		kind = COPY_DATA; /* every name of a hard-link group shares this copy: it must hold the data */
	if ((err = copy_lower_into(s, ino, kind, c->up_fd, name, &fd)))
		return err;
	if (fstat(fd, &st)) {
		err = errno;
		close(fd);
		return err;
	}
	n->upper_fd = fd;
	n->metacopy = S_ISREG(n->type) && kind == COPY_META;
	node_set_upper_key(s->nodes, n, st.st_dev, st.st_ino);
	if (!S_ISDIR(n->type) && view_inode(&s->view, ino)->nlink > 1)
		link_aliases(s, n, ino);
	return 0;
}

int copy_up(struct server *s, struct node *n, enum copy_kind kind)
{
	struct node *parent;
	struct cursor c;
	char name[256];
	int err;
	pthread_mutex_lock(&n->lock);
	if (n->upper_fd >= 0) {
		err = finish_upper(s, n, kind);
		pthread_mutex_unlock(&n->lock);
		return err;
	}
	pthread_mutex_unlock(&n->lock);
	if ((err = node_location(s->nodes, n, &parent, name)))
		return err;
	err = dir_cursor(s, parent, 1, &c); /* parents first, without holding the child's lock */
	pthread_mutex_lock(&n->lock);
	if (!err)
		err = n->upper_fd >= 0 ? finish_upper(s, n, kind) : copy_node(s, n, &c, name, kind);
	pthread_mutex_unlock(&n->lock);
	node_release(s->nodes, parent);
	return err;
}

int dir_cursor(struct server *s, struct node *dir, int need_upper, struct cursor *c)
{
	int err = need_upper ? copy_up(s, dir, COPY_META) : 0;
	pthread_mutex_lock(&dir->lock);
	c->up_fd = dir->upper_fd;
	c->lower_dir = dir->lower_dir;
	pthread_mutex_unlock(&dir->lock);
	if (!S_ISDIR(dir->type))
		return ENOTDIR;
	return err;
}
