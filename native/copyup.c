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
#include "loop.h"
#include "node-fd.h"

#define CHUNK (1 << 20)
#define HOLE_BLOCK (64 << 10)

static int all_zero(const char *p, size_t len)
{
	static const char zero[HOLE_BLOCK];
	return len <= sizeof zero && !memcmp(p, zero, len);
}

static int write_all(int fd, const char *buf, size_t len, off_t at)
{
	for (size_t done = 0; done < len;) {
		ssize_t w = pwrite(fd, buf + done, len - done, at + done);
		if (w < 0)
			return errno;
		done += w;
	}
	return 0;
}

/* Writes the blocks of `buf` that are not all zero, each run of them in one call; zero blocks
 * stay holes. */
static int write_nonzero(int fd, const char *buf, size_t len, off_t at)
{
	size_t run = 0; /* start of the pending run of non-zero blocks; == off when there is none */
	for (size_t off = 0; off < len; off += HOLE_BLOCK) {
		size_t n = len - off < HOLE_BLOCK ? len - off : HOLE_BLOCK;
		int err;
		if (!all_zero(buf + off, n))
			continue;
		if (run < off && (err = write_all(fd, buf + run, off - run, at + run)))
			return err;
		run = off + n;
	}
	return run < len ? write_all(fd, buf + run, len - run, at + run) : 0;
}

int copy_lower_data(struct server *s, uint64_t ino, int fd, uint64_t len)
{
	const struct view_inode *n = view_inode(&s->view, ino);
	int src = s->layers[n->layer].fd, err = 0;
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
	/* On disk before the copy takes the lower file's place (the rename, or the metacopy marker
	 * going): after a crash the file shows the lower data or the copy, never a hole. Kernel
	 * overlayfs syncs its copy-ups too; fuse-overlayfs does not. */
	if (!err && fdatasync(fd))
		err = errno;
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
	keep_ctime(fd, &ts[1]); /* the copy is not a change: it shows the lower entry's ctime */
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
	if (!err) { /* a copy-up changes nothing the user can see: the parent keeps its times */
		futimens(dirfd, (struct timespec[2]){ parent.st_atim, parent.st_mtim });
		keep_ctime(dirfd, &parent.st_ctim);
	}
	if (err) {
		unlinkat(s->work_fd, tmp, S_ISDIR(type) ? AT_REMOVEDIR : 0);
		if (err != EEXIST || !S_ISDIR(type) || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(st.st_mode))
			return err == EEXIST ? ENOENT : err; /* a whiteout or another entry took the name meanwhile */
	}
	*fd = open_entry(dirfd, name, type);
	return *fd < 0 ? errno : 0;
}

/* A metacopy file's data comes up: filled in place, then the marker goes (until then readers
 * keep reading the lower data). On failure the file is cut back to one hole with its times kept,
 * and stays metacopy. Runs without n->lock. */
static int fill_metacopy(struct server *s, struct node *n, uint64_t lower, enum copy_kind kind)
{
	char path[32];
	struct stat st;
	int fd, up, err = node_fd_get(s, n, &up);
	if (err)
		return err;
	fd_path(up, path);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	err = fd < 0 || fstat(fd, &st) ? errno : 0;
	if (!err && kind == COPY_DATA)
		err = copy_lower_data(s, lower, fd, st.st_size);
	if (!err && kind == COPY_EMPTY && ftruncate(fd, 0))
		err = errno;
	if (err && fd >= 0 && kind == COPY_DATA && !ftruncate(fd, 0) && ftruncate(fd, st.st_size)) {
		/* nothing more can be undone */
	}
	if (fd >= 0) {
		futimens(fd, (struct timespec[2]){ st.st_atim, st.st_mtim });
		close(fd);
	}
	if (!err && !(err = remove_xattr(up, OVL_METACOPY)))
		err = remove_xattr(up, OVL_REDIRECT);
	if (!err && fd >= 0)
		keep_ctime(up, &st.st_ctim); /* filling in the data is not a change the user made */
	node_fd_put(n, up);
	return err;
}

/* The copy of lower object `ino` made for node `n` at `name` in `c`: its fd and stat. */
struct copy {
	int fd;
	struct stat st;
};

static int make_copy(struct server *s, struct node *n, uint64_t ino, const struct cursor *c, const char *name,
		     enum copy_kind kind, struct copy *out)
{
	int err;
	if (!ino)
		return EIO; /* neither upper nor lower: cannot happen for a live node */
	if ((err = copy_lower_into(s, ino, kind, c->up_fd, name, &out->fd)))
		return err;
	if (fstat(out->fd, &out->st)) {
		err = errno;
		close(out->fd);
		return err;
	}
	if (!S_ISDIR(n->type) && view_inode(&s->view, ino)->nlink > 1)
		link_aliases(s, ino, out->fd);
	return 0;
}

/* With n locked: the node now has the copy. */
static void publish(struct server *s, struct node *n, struct copy *cp, enum copy_kind kind)
{
	n->upper = 1;
	n->metacopy = S_ISREG(n->type) && kind == COPY_META;
	node_set_upper_key(s->nodes, n, cp->st.st_dev, cp->st.st_ino);
	if (S_ISDIR(n->type) && n->upper_fd < 0)
		n->upper_fd = cp->fd; /* directories keep theirs: every child operation needs it */
	else
		close(cp->fd); /* (or a lookup adopted the new entry first) */
}

/* The node has no upper entry yet: make one at its name, in its (copied-up) parent. */
static int copy_new(struct server *s, struct node *n, enum copy_kind kind)
{
	uint64_t ino = S_ISDIR(n->type) ? n->lower_dir : n->lower_data;
	struct node *parent;
	struct cursor c;
	struct copy cp;
	char name[256];
	int err;
	if (!S_ISDIR(n->type) && ino && view_inode(&s->view, ino)->nlink > 1)
		kind = COPY_DATA; /* every name of a hard-link group shares this copy: it must hold the data */
	if ((err = node_location(s->nodes, n, &parent, name)))
		return err;
	if (!(err = dir_cursor(s, parent, 1, &c)) && !(err = make_copy(s, n, ino, &c, name, kind, &cp))) {
		pthread_mutex_lock(&n->lock);
		publish(s, n, &cp, kind);
		pthread_mutex_unlock(&n->lock);
	}
	node_release(s->nodes, parent);
	return err;
}

/* A lower file whose last name went while it was open (n->gone) is changed through its fd: its
 * copy, data and all, is made in the work dir, unlinked there, and kept by the node's pinned O_PATH
 * fd, as the host keeps an open file nothing names. */
static int copy_gone(struct server *s, struct node *n, uint64_t ino, const struct timespec *gone_at)
{
	char name[64];
	struct copy cp;
	int err;
	temp_name(name);
	if ((err = copy_lower_into(s, ino, COPY_DATA, s->work_fd, name, &cp.fd)))
		return err;
	if (fstat(cp.fd, &cp.st) || unlinkat(s->work_fd, name, 0)) {
		err = errno;
		unlinkat(s->work_fd, name, 0);
		close(cp.fd);
		return err;
	}
	drop_kept_ctime(cp.fd); /* its ctime is still the unlink's, not the lower file's */
	keep_ctime(cp.fd, gone_at);
	pthread_mutex_lock(&n->lock);
	n->upper = 1;
	n->metacopy = 0;
	n->gone = 0;
	node_set_upper_key(s->nodes, n, cp.st.st_dev, cp.st.st_ino);
	n->upper_fd = cp.fd;
	n->pinned = 1;
	pthread_mutex_unlock(&n->lock);
	return 0;
}

/* With n locked: whether `kind` of a copy is already there. */
static int has_copy(const struct node *n, enum copy_kind kind)
{
	return n->upper && (!n->metacopy || kind == COPY_META);
}

int copy_up(struct server *s, struct node *n, enum copy_kind kind)
{
	struct timespec gone_at;
	uint64_t lower;
	int err, upper, gone;
	pthread_mutex_lock(&n->lock);
	if (!has_copy(n, kind) && n->copying) { /* another thread is copying it: the lead may pass on meanwhile */
		unsigned long slow = loop_slow_begin();
		while (!has_copy(n, kind) && n->copying)
			pthread_cond_wait(&n->copied, &n->lock);
		loop_slow_end(slow);
	}
	if (has_copy(n, kind)) {
		pthread_mutex_unlock(&n->lock);
		return 0;
	}
	n->copying = 1;
	upper = n->upper;
	lower = n->lower_data;
	gone = n->gone;
	gone_at = n->gone_at;
	pthread_mutex_unlock(&n->lock);
	if (upper)
		err = fill_metacopy(s, n, lower, kind);
	else
		err = gone ? copy_gone(s, n, lower, &gone_at) : copy_new(s, n, kind);
	pthread_mutex_lock(&n->lock);
	if (!err && upper)
		n->metacopy = 0;
	n->copying = 0;
	pthread_cond_broadcast(&n->copied);
	pthread_mutex_unlock(&n->lock);
	return err;
}

int copy_is_slow(struct server *s, struct node *n, enum copy_kind kind)
{
	int slow;
	if (!S_ISREG(n->type))
		return 0;
	pthread_mutex_lock(&n->lock);
	if (n->upper)
		slow = n->metacopy && kind == COPY_DATA;
	else
		slow = kind == COPY_DATA || (n->lower_data && view_inode(&s->view, n->lower_data)->nlink > 1);
	pthread_mutex_unlock(&n->lock);
	return slow;
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
