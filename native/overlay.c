/* A container mount: the view below, the upper directory on top, copy-up on change. This file has
 * the node-level ops (lookup, attributes, data, xattrs); directories, creation, removal and rename
 * live in ovl-*.c. */
#include "overlay.h"
#include "loop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "links.h"
#include "node-fd.h"

static void want(struct fuse_conn_info *conn, unsigned cap)
{
	conn->want |= cap & conn->capable;
}

static void ovl_init(void *data, struct fuse_conn_info *conn)
{
	struct server *s = data;
	/* No writeback cache: with it a write only fills the page cache, and a full upper filesystem
	 * shows up later (or never, to a writer of /dev/zero) instead of as ENOSPC from write(2). */
	want(conn, FUSE_CAP_READDIRPLUS | FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
		   FUSE_CAP_SPLICE_READ | FUSE_CAP_ASYNC_READ | FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_CACHE_SYMLINKS);
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	conn->time_gran = 1;
	conn->max_write = 1 << 20;
	s->caps = conn->want;
	server_ready(s);
}

/* ---------------------------------------------------------------- nodes and attributes */

static void stat_lower(struct server *s, struct node *n, uint64_t ino, struct stat *st)
{
	view_stat(&s->view, ino, st);
	if (!S_ISDIR(n->type) && view_inode(&s->view, ino)->nlink > 1)
		st->st_nlink = n->lower_nlink;
	if (n->gone) {
		st->st_nlink = 0;
		st->st_ctim = n->gone_at;
	}
}

/* How many subdirectories of lower directory `lower_dir` have no entry in upper directory `up_fd`. */
static nlink_t lower_subdirs_absent(struct server *s, int up_fd, uint64_t lower_dir)
{
	const struct view_inode *d = view_inode(&s->view, lower_dir);
	nlink_t n = 0;
	struct stat st;
	for (uint64_t i = 0; i < d->size; i++) {
		const struct view_dirent *e = &s->view.dirents[d->data + i];
		char name[VIEW_MAX_NAME + 1];
		if (e->type != DT_DIR)
			continue;
		memcpy(name, view_name(&s->view, e->name_off), e->name_len);
		name[e->name_len] = 0;
		if (fstatat(up_fd, name, &st, AT_SYMLINK_NOFOLLOW) && errno == ENOENT)
			n++;
	}
	return n;
}

void dir_entry_changed(struct server *s, struct node *dir, int dir_fd, const char *name)
{
	uint64_t lower = __atomic_load_n(&dir->lower_dir, __ATOMIC_RELAXED), ino;
	node_changed(dir, dir_fd);
	if (lower && (ino = view_lookup(&s->view, lower, name, strlen(name))) && view_is_dir(&s->view, ino))
		__atomic_add_fetch(&dir->lower_subdirs.gen, 1, __ATOMIC_RELEASE);
}

/* With n locked: a merged directory's st_nlink, its upper one plus the lower subdirectories it
 * does not hide or replace. The count is kept (node.h): the kernel asks for st_nlink after every
 * create, and a directory with 2,000 lower subdirectories took 2,000 fstatat each time. */
static nlink_t merged_nlink(struct server *s, struct node *n, nlink_t upper_nlink)
{
	uint32_t gen = __atomic_load_n(&n->lower_subdirs.gen, __ATOMIC_ACQUIRE); /* before counting: a later change recounts */
	if (!n->lower_subdirs.counted || n->lower_subdirs.counted_gen != gen || n->lower_subdirs.upper_nlink != upper_nlink ||
	    n->lower_subdirs.lower_dir != n->lower_dir) {
		n->lower_subdirs.absent = lower_subdirs_absent(s, n->upper_fd, n->lower_dir);
		n->lower_subdirs.counted_gen = gen;
		n->lower_subdirs.upper_nlink = upper_nlink;
		n->lower_subdirs.lower_dir = n->lower_dir;
		n->lower_subdirs.counted = 1;
	}
	return upper_nlink + n->lower_subdirs.absent;
}

int node_stat(struct server *s, struct node *n, struct stat *st)
{
	int fd, err = 0;
	if (!n->upper) {
		stat_lower(s, n, S_ISDIR(n->type) ? n->lower_dir : n->lower_data, st);
	} else if (!(err = node_fd_get(s, n, &fd))) {
		err = fstat(fd, st) ? errno : 0;
		if (!err && !n->fresh) /* only entries this mount did not make can carry a kept ctime */
			shown_ctime(fd, &st->st_ctim);
		node_fd_put(n, fd);
	}
	pthread_mutex_lock(&n->lock);
	if (!err && n->upper && S_ISDIR(n->type) && n->lower_dir)
		st->st_nlink = merged_nlink(s, n, st->st_nlink);
	else if (n->upper && n->metacopy && n->lower_data)
		st->st_blocks = (view_inode(&s->view, n->lower_data)->size + 511) / 512;
	st->st_ino = n->st_ino;
	pthread_mutex_unlock(&n->lock);
	return err;
}

static struct node *new_node(struct server *s, struct node *parent, const char *name, struct entry *e)
{
	struct node *n = node_alloc(e->type, parent, name);
	if (!n)
		return NULL;
	n->lower_key = entry_lower_key(s, e);
	n->st_ino = entry_st_ino(s, e);
	if (S_ISDIR(e->type))
		n->lower_dir = e->lower;
	else
		n->lower_data = e->lower;
	if (e->upper) {
		n->upper = 1;
		n->upper_fd = e->up_fd; /* a directory's fd; -1 for the others */
		n->up_dev = e->st.st_dev;
		n->up_ino = e->st.st_ino;
		n->metacopy = e->m.metacopy && e->lower;
		n->bare = n->fresh = e->fresh;
		e->up_fd = -1;
	} else if (!S_ISDIR(e->type) && view_inode(&s->view, e->lower)->nlink > 1) {
		n->lower_nlink = visible_links(s, e->lower);
	}
	return n;
}

/* An existing node takes an upper entry made behind its back (a hard link's copy, a parent made
 * on the way to one) and its newest name. */
static void adopt(struct server *s, struct node *n, struct node *parent, const char *name, struct entry *e)
{
	int took = 0;
	pthread_mutex_lock(&n->lock);
	if (!n->upper && e->upper) {
		n->upper = 1;
		n->upper_fd = e->up_fd;
		n->metacopy = e->m.metacopy && e->lower;
		e->up_fd = -1;
		took = 1;
	}
	pthread_mutex_unlock(&n->lock);
	if (took)
		node_set_upper_key(s->nodes, n, e->st.st_dev, e->st.st_ino);
	if (n != s->root)
		node_move(s->nodes, n, parent, name);
}

int node_from_entry(struct server *s, struct node *parent, const char *name, struct entry *e, struct node **out)
{
	int up = e->upper;
	struct node *n = node_find(s->nodes, up ? e->st.st_dev : 0, up ? e->st.st_ino : 0, entry_lower_key(s, e)), *made;
	if (!n) {
		made = new_node(s, parent, name, e);
		if (!made)
			return ENOMEM;
		n = node_insert(s->nodes, made);
		if (n != made) { /* another thread made it first */
			if (made->upper_fd >= 0)
				close(made->upper_fd);
			node_free(made);
		}
	}
	adopt(s, n, parent, name, e);
	*out = n;
	return 0;
}

void entry_of_stat(struct server *s, struct node *n, const struct stat *st, struct fuse_entry_param *ep)
{
	memset(ep, 0, sizeof *ep);
	ep->ino = ino_of(s, n);
	ep->attr_timeout = ep->entry_timeout = s->timeout;
	ep->attr = *st;
	ep->attr.st_ino = n->st_ino;
}

int entry_of_node(struct server *s, struct node *n, struct fuse_entry_param *ep)
{
	memset(ep, 0, sizeof *ep);
	ep->ino = ino_of(s, n);
	ep->attr_timeout = ep->entry_timeout = s->timeout;
	return node_stat(s, n, &ep->attr);
}

int resolve_in(struct server *s, struct node *dir, const char *name, int need_upper, struct cursor *c, struct entry *e)
{
	int err = dir_cursor(s, dir, need_upper, c);
	memset(e, 0, sizeof *e);
	e->up_fd = -1;
	return err ? err : resolve_entry(s, c, name, e);
}

int overlay_lookup(struct server *s, struct node *parent, const char *name, struct fuse_entry_param *ep)
{
	struct cursor c;
	struct entry e;
	struct node *n;
	int err = resolve_in(s, parent, name, 0, &c, &e);
	if (!err && !e.exists) {
		memset(ep, 0, sizeof *ep); /* negative entry: creations go through us, so it stays true */
		ep->entry_timeout = s->timeout;
	} else if (!err && !(err = node_from_entry(s, parent, name, &e, &n)) && (err = entry_of_node(s, n, ep))) {
		node_forget(s->nodes, n, 1);
	}
	entry_release(&e);
	return err;
}

static void ovl_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct server *s = server_of(req);
	struct fuse_entry_param ep;
	int err = overlay_lookup(s, node_of(s, parent), name, &ep);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &ep);
}

static void ovl_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct server *s = server_of(req);
	node_forget(s->nodes, node_of(s, ino), nlookup);
	fuse_reply_none(req);
}

static void ovl_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct server *s = server_of(req);
	for (size_t i = 0; i < count; i++)
		node_forget(s->nodes, node_of(s, forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

static void ovl_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct server *s = server_of(req);
	struct stat st;
	int err = node_stat(s, node_of(s, ino), &st);
	(void)fi;
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, s->timeout);
}

/* One fewer visible name for a lower-only hard-link group. */
void drop_lower_name(struct server *s, struct entry *e)
{
	struct node *n = !e->upper ? node_find(s->nodes, 0, 0, e->lower) : NULL;
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	if (!n->upper && n->lower_nlink > 0)
		n->lower_nlink--;
	if (!n->upper && (view_inode(&s->view, e->lower)->nlink <= 1 || !n->lower_nlink)) {
		n->gone = 1;
		clock_gettime(CLOCK_REALTIME, &n->gone_at);
	}
	pthread_mutex_unlock(&n->lock);
	node_forget(s->nodes, n, 1);
}

/* ---------------------------------------------------------------- setattr */

static int set_times(int fd, const struct stat *attr, int to_set)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
	char path[32];
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		ts[0] = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		ts[1] = attr->st_mtim;
	fd_path(fd, path);
	return utimensat(AT_FDCWD, path, ts, 0) ? errno : 0;
}

static int set_size(int upper_fd, struct fuse_file_info *fi, off_t size)
{
	struct handle *h = fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
	char path[32];
	if (h && h->fd >= 0)
		return ftruncate(h->fd, size) ? errno : 0;
	fd_path(upper_fd, path);
	return truncate(path, size) ? errno : 0;
}

static int apply_attrs(const struct node *n, int fd, const struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	char path[32];
	int err;
	/* chown(-1, -1) arrives as a ctime change alone: the host's chown(-1, -1) does that too */
	int owner = to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID) ||
		    !(to_set & ~(FUSE_SET_ATTR_CTIME | FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID));
	fd_path(fd, path);
	if (owner && fchownat(fd, "", to_set & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1,
			      to_set & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return errno;
	if ((to_set & FUSE_SET_ATTR_MODE) && !S_ISLNK(n->type) && chmod(path, attr->st_mode & 07777))
		return errno;
	if ((to_set & FUSE_SET_ATTR_SIZE) && (err = set_size(fd, fi, attr->st_size)))
		return err;
	node_changed(n, fd); /* before the times: utimensat sets ctime itself */
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))
		return set_times(fd, attr, to_set);
	return 0;
}

static int do_setattr(struct server *s, struct node *n, const struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	enum copy_kind kind = !(to_set & FUSE_SET_ATTR_SIZE) ? COPY_META : attr->st_size ? COPY_DATA : COPY_EMPTY;
	int fd, err = copy_up(s, n, kind);
	if (err || (err = node_fd_get(s, n, &fd)))
		return err;
	err = apply_attrs(n, fd, attr, to_set, fi);
	node_fd_put(n, fd);
	return err;
}

/* A request handed to a worker, with copies of what the kernel passed. */
struct op_job {
	fuse_req_t req;
	fuse_ino_t ino;
	struct stat attr;
	int to_set, has_fi, datasync;
	struct fuse_file_info fi;
};

static struct op_job *job_of(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct op_job *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->req = req;
	j->ino = ino;
	j->has_fi = fi != NULL;
	if (fi)
		j->fi = *fi;
	return j;
}

/* Linux drops the setgid bit of a file that is not group-executable when a caller outside its
 * group writes, truncates or chowns it (setattr_should_drop_sgid); FUSE's kernel side only drops
 * it from group-executable files, so the rest is done here. The new mode to set, or 0. */
static mode_t sgid_to_drop(fuse_req_t req, struct server *s, struct node *n, struct stat *st)
{
	if (!S_ISREG(n->type) || fuse_req_ctx(req)->uid == 0 || node_stat(s, n, st))
		return 0;
	if (!(st->st_mode & S_ISGID) || (st->st_mode & S_IXGRP) || in_group(req, st->st_gid))
		return 0;
	return (st->st_mode & 07777 & ~S_ISGID) | S_IFREG;
}

/* The same for a truncate, a chown or a chown(-1, -1) (a bare setattr); only the owner may
 * change the mode that way: EPERM for others, as the kernel answers chown(-1, -1) there. MODE may
 * already be set, to the mode without suid: the kernel's own kill-priv pass adds it. */
static int drop_sgid_on_setattr(fuse_req_t req, struct server *s, struct node *n, struct stat *attr, int *to_set)
{
	int changes = *to_set & (FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID);
	int chown_nothing = !(*to_set & ~FUSE_SET_ATTR_CTIME);
	struct stat st;
	mode_t mode;
	if (!(changes || chown_nothing) || !(mode = sgid_to_drop(req, s, n, &st)))
		return 0;
	if (chown_nothing && fuse_req_ctx(req)->uid != st.st_uid)
		return EPERM;
	if (*to_set & FUSE_SET_ATTR_MODE)
		mode = (attr->st_mode & 07777 & ~S_ISGID) | S_IFREG;
	attr->st_mode = mode;
	*to_set |= FUSE_SET_ATTR_MODE;
	return 0;
}

static void setattr_now(void *arg)
{
	struct op_job *j = arg;
	struct server *s = server_of(j->req);
	struct node *n = node_of(s, j->ino);
	struct stat st;
	int err = drop_sgid_on_setattr(j->req, s, n, &j->attr, &j->to_set);
	if (!err)
		err = do_setattr(s, n, &j->attr, j->to_set, j->has_fi ? &j->fi : NULL);
	if (!err)
		err = node_stat(s, n, &st);
	if (err)
		fuse_reply_err(j->req, err);
	else
		fuse_reply_attr(j->req, &st, s->timeout);
	free(j);
}

static void ovl_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	struct server *s = server_of(req);
	struct op_job *j = job_of(req, ino, fi);
	if (!j) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	j->attr = *attr;
	j->to_set = to_set;
	if ((to_set & FUSE_SET_ATTR_SIZE) && copy_is_slow(s, node_of(s, ino), attr->st_size ? COPY_DATA : COPY_EMPTY))
		loop_after(setattr_now, j); /* a data copy-up: slow work (loop.h) */
	else
		setattr_now(j);
}

static void ovl_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct server *s = server_of(req);
	struct node *n = node_of(s, ino);
	char buf[4097];
	ssize_t len;
	int fd, err;
	if (n->upper) {
		if ((err = node_fd_get(s, n, &fd))) {
			fuse_reply_err(req, err);
			return;
		}
		len = readlinkat(fd, "", buf, sizeof buf - 1);
		err = errno;
		node_fd_put(n, fd);
		if (len < 0)
			fuse_reply_err(req, err);
		else
			fuse_reply_buf(req, buf, len);
	} else {
		const struct view_inode *l = view_inode(&s->view, n->lower_data);
		fuse_reply_buf(req, (const char *)view_name(&s->view, l->data), l->size);
	}
}

/* ---------------------------------------------------------------- files */

/* Flags for the upper fd: with the writeback cache the kernel reads around partial writes and
 * does appends itself. */
static int upper_open_flags(const struct server *s, int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW);
	if (s->caps & FUSE_CAP_WRITEBACK_CACHE) {
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	return flags | O_CLOEXEC;
}

/* open(O_TRUNC) by an unprivileged caller clears setuid, and setgid of a group-executable file,
 * as truncate(2) does; with atomic_o_trunc the kernel leaves that to us, and our own open runs as root. */
static void kill_privs(int fd, uid_t caller)
{
	struct stat st;
	mode_t kill = S_ISUID | S_ISGID;
	if (caller == 0 || fstat(fd, &st))
		return;
	if (!(st.st_mode & S_IXGRP))
		kill = S_ISUID;
	if (st.st_mode & kill)
		fchmod(fd, st.st_mode & 07777 & ~kill);
}

int open_handle(struct server *s, struct node *n, int flags, uid_t caller, struct handle **out)
{
	int writing = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	struct handle *h;
	char path[32];
	int fd, err = writing ? copy_up(s, n, flags & O_TRUNC ? COPY_EMPTY : COPY_DATA) : 0;
	if (err)
		return err;
	h = calloc(1, sizeof *h);
	if (!h)
		return ENOMEM;
	h->node = n;
	h->fd = -1;
	if (n->upper && !n->metacopy && !(err = node_fd_get(s, n, &fd))) {
		fd_path(fd, path);
		h->fd = open(path, upper_open_flags(s, flags));
		err = h->fd < 0 ? errno : 0;
		if (!err && (flags & O_TRUNC)) {
			node_changed(n, h->fd); /* truncated: changed */
			kill_privs(h->fd, caller);
		}
		node_fd_put(n, fd);
	}
	if (err) {
		free(h);
		return err;
	}
	node_hold(s->nodes, n);
	*out = h;
	return 0;
}

static void open_now(void *arg)
{
	struct op_job *j = arg;
	struct server *s = server_of(j->req);
	struct handle *h;
	int err = open_handle(s, node_of(s, j->ino), j->fi.flags, fuse_req_ctx(j->req)->uid, &h);
	if (err) {
		fuse_reply_err(j->req, err);
	} else {
		j->fi.fh = (uintptr_t)h;
		j->fi.keep_cache = 1; /* every change goes through this mount's page cache */
		j->fi.noflush = 1;
		if (fuse_reply_open(j->req, &j->fi) == -ENOENT) { /* the opener was interrupted */
			node_release(s->nodes, h->node);
			if (h->fd >= 0)
				close(h->fd);
			free(h);
		}
	}
	free(j);
}

static void ovl_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct server *s = server_of(req);
	struct op_job *j = job_of(req, ino, fi);
	int writing = (fi->flags & O_ACCMODE) != O_RDONLY && !(fi->flags & O_TRUNC);
	if (!j)
		fuse_reply_err(req, ENOMEM);
	else if (writing && copy_is_slow(s, node_of(s, ino), COPY_DATA))
		loop_after(open_now, j); /* a data copy-up: slow work (loop.h) */
	else
		open_now(j);
}

/* Where a read of `h` gets its bytes: the handle's fd, the node's upper data (copied up after
 * this handle was opened), or else (*fd left -1) lower file *lower in its layer tar. */
static int read_source(struct server *s, struct handle *h, int *fd, const struct view_inode **lower)
{
	struct node *n = h->node;
	char path[32];
	int err = 0;
	*fd = h->fd;
	if (h->fd >= 0)
		return 0;
	pthread_mutex_lock(&n->lock);
	if (n->upper && !n->metacopy) {
		int up;
		if (n->data_fd < 0 && !(err = node_fd_get_held(s, n, &up))) {
			fd_path(up, path);
			n->data_fd = open(path, O_RDONLY | O_CLOEXEC);
			err = n->data_fd < 0 ? errno : 0;
			node_fd_put_held(n, up);
		}
		*fd = n->data_fd;
	} else {
		*lower = view_inode(&s->view, n->lower_data);
	}
	pthread_mutex_unlock(&n->lock);
	return err;
}

static void ovl_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct server *s = server_of(req);
	const struct view_inode *lower = NULL;
	int fd, err = read_source(s, (struct handle *)(uintptr_t)fi->fh, &fd, &lower);
	(void)ino;
	if (err)
		fuse_reply_err(req, err);
	else if (fd < 0)
		reply_lower_read(req, s, lower, off, size);
	else
		reply_read(req, fd, off, size);
}

struct inval_job {
	struct server *s;
	fuse_ino_t ino;
};

static void forget_attrs_now(void *arg)
{
	struct inval_job *j = arg;
	fuse_lowlevel_notify_inval_inode(j->s->se, j->ino, -1, 0);
	free(j);
}

/* Makes the kernel ask for `ino`'s attributes again; from a worker, after the reply, since the
 * kernel may hold the inode's lock until then. */
static void forget_attrs_later(struct server *s, fuse_ino_t ino)
{
	struct inval_job *j = malloc(sizeof *j);
	if (!j)
		return;
	*j = (struct inval_job){ s, ino };
	loop_after(forget_attrs_now, j);
}

static void ovl_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	mode_t mode = 0;
	ssize_t n;
	if (h->fd < 0) {
		fuse_reply_err(req, EBADF);
		return;
	}
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = h->fd;
	out.buf[0].pos = off;
	n = fuse_buf_copy(&out, in, 0);
	if (n > 0 && !h->wrote) {
		struct stat st;
		mode = fi->writepage ? 0 : sgid_to_drop(req, server_of(req), h->node, &st);
		h->wrote = 1;
		node_changed(h->node, h->fd);
		if (mode)
			fchmod(h->fd, mode & 07777);
	}
	if (n < 0)
		fuse_reply_err(req, -n);
	else
		fuse_reply_write(req, n);
	if (mode) /* the kernel still holds the old mode */
		forget_attrs_later(server_of(req), ino);
}

static void ovl_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void ovl_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct server *s = server_of(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	(void)ino;
	if (h->fd >= 0)
		close(h->fd);
	node_release(s->nodes, h->node);
	free(h);
	fuse_reply_err(req, 0);
}

static void fsync_now(void *arg)
{
	struct op_job *j = arg;
	struct server *s = server_of(j->req);
	int fd = j->has_fi ? ((struct handle *)(uintptr_t)j->fi.fh)->fd : node_of(s, j->ino)->upper_fd; /* a directory keeps its fd */
	if (fd < 0)
		fuse_reply_err(j->req, 0);
	else
		fuse_reply_err(j->req, (j->datasync ? fdatasync(fd) : fsync(fd)) ? errno : 0);
	free(j);
}

static void sync_later(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct op_job *j = job_of(req, ino, fi);
	if (!j) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	j->datasync = datasync;
	loop_after(fsync_now, j); /* it waits for the disk */
}

static void ovl_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	sync_later(req, ino, datasync, fi);
}

static void ovl_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)fi;
	sync_later(req, ino, datasync, NULL);
}

static void ovl_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	(void)ino;
	if (h->fd < 0) {
		fuse_reply_err(req, EBADF);
		return;
	}
	node_changed(h->node, h->fd);
	fuse_reply_err(req, fallocate(h->fd, mode, off, len) ? errno : 0);
}

static void ovl_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct server *s = server_of(req);
	struct statvfs st;
	(void)ino;
	if (fstatvfs(s->upper_fd, &st))
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &st);
}

/* ---------------------------------------------------------------- xattrs */

static void reply_xattr(fuse_req_t req, const void *val, ssize_t len, size_t size)
{
	if (len < 0)
		fuse_reply_err(req, errno);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else
		fuse_reply_buf(req, val, len);
}

static void ovl_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct server *s = server_of(req);
	struct node *n = node_of(s, ino);
	char path[32], *buf = NULL;
	const uint8_t *val;
	size_t len;
	ssize_t got;
	int err, fd;
	if (is_internal_xattr(name) || (n->upper && n->bare)) {
		fuse_reply_err(req, ENODATA);
	} else if (!n->upper) {
		err = view_getxattr(&s->view, S_ISDIR(n->type) ? n->lower_dir : n->lower_data, name, &val, &len);
		if (err || (size && size < len))
			fuse_reply_err(req, err ? err : ERANGE);
		else
			reply_xattr(req, val, len, size);
	} else if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
	} else if ((err = node_fd_get(s, n, &fd))) {
		fuse_reply_err(req, err);
	} else {
		fd_path(fd, path);
		got = getxattr(path, name, buf, size);
		err = errno;
		node_fd_put(n, fd);
		errno = err;
		reply_xattr(req, buf, got, size);
	}
	free(buf);
}

/* Drops internal names from a "name\0name\0" list in place; returns the new length. */
static size_t filter_internal(char *list, size_t len)
{
	size_t out = 0;
	for (size_t i = 0; i < len;) {
		size_t n = strlen(list + i) + 1;
		if (!is_internal_xattr(list + i)) {
			memmove(list + out, list + i, n);
			out += n;
		}
		i += n;
	}
	return out;
}

static void ovl_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct server *s = server_of(req);
	struct node *n = node_of(s, ino);
	char path[32], buf[65536];
	ssize_t len;
	int fd, err;
	if (n->upper && n->bare) {
		len = 0;
	} else if (!n->upper) {
		len = view_listxattr(&s->view, S_ISDIR(n->type) ? n->lower_dir : n->lower_data, buf, sizeof buf);
	} else if ((err = node_fd_get(s, n, &fd))) {
		len = -1, errno = err;
	} else {
		fd_path(fd, path);
		len = listxattr(path, buf, sizeof buf);
		err = errno;
		node_fd_put(n, fd);
		errno = err;
	}
	if (len > (ssize_t)sizeof buf)
		len = -1, errno = E2BIG;
	if (len >= 0)
		len = filter_internal(buf, len);
	if (len >= 0 && size && (size_t)len > size)
		fuse_reply_err(req, ERANGE);
	else
		reply_xattr(req, buf, len, size);
}

static int do_setxattr(struct server *s, struct node *n, const char *name, const char *value, size_t size, int flags)
{
	char path[32];
	int err, fd;
	if (is_internal_xattr(name))
		return EPERM;
	if ((err = copy_up(s, n, COPY_META)) || (err = node_fd_get(s, n, &fd)))
		return err;
	n->bare = 0;
	fd_path(fd, path);
	if (value)
		err = setxattr(path, name, value, size, flags) ? errno : 0;
	else
		err = removexattr(path, name) ? errno : 0;
	if (!err)
		node_changed(n, fd);
	node_fd_put(n, fd);
	return err;
}

static void ovl_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags)
{
	struct server *s = server_of(req);
	fuse_reply_err(req, do_setxattr(s, node_of(s, ino), name, value, size, flags));
}

static void ovl_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct server *s = server_of(req);
	struct node *n = node_of(s, ino);
	const uint8_t *val;
	size_t len;
	/* removing what the lower entry does not have changes nothing: no copy-up for an ENODATA */
	if (!n->upper && !is_internal_xattr(name) &&
	    view_getxattr(&s->view, S_ISDIR(n->type) ? n->lower_dir : n->lower_data, name, &val, &len))
		fuse_reply_err(req, ENODATA);
	else
		fuse_reply_err(req, do_setxattr(s, n, name, NULL, 0, 0));
}

/* ---------------------------------------------------------------- setup */

/* Empties <work>/lamina of what a killed server left (temp copies, removed directories). */
static void clean_work(int work_fd)
{
	int fd = dup(work_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		int sub;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!unlinkat(work_fd, de->d_name, 0) || errno != EISDIR)
			continue;
		sub = openat(work_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			clear_whiteouts(sub);
			close(sub);
		}
		unlinkat(work_fd, de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

/* Reopened file fds kept for later operations: a quarter of what the process may open. */
static size_t fd_budget(void)
{
	struct rlimit r;
	size_t n = getrlimit(RLIMIT_NOFILE, &r) ? 1024 : r.rlim_cur / 4;
	return n < 64 ? 64 : n > 16384 ? 16384 : n;
}

int overlay_open(struct server *s, const char *upper, const char *work)
{
	struct markers m;
	struct stat st;
	int work_root, err;
	s->upper_fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	work_root = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->upper_fd < 0 || work_root < 0 || fstat(s->upper_fd, &st))
		return errno;
	if (mkdirat(work_root, "lamina", 0700) && errno != EEXIST)
		return errno;
	s->work_fd = openat(work_root, "lamina", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(work_root);
	if (s->work_fd < 0)
		return errno;
	clean_work(s->work_fd);
	s->nodes = node_table_new();
	s->root = node_alloc(S_IFDIR, NULL, "");
	if (!s->nodes || !s->root || read_markers(s->upper_fd, &m))
		return ENOMEM;
	if (!m.origin && (err = copy_attrs(s, 1, s->upper_fd, COPY_META))) /* a fresh upper root takes the image root's looks, once */
		return err;
	s->root->upper = 1;
	s->root->upper_fd = s->upper_fd;
	s->root->lower_dir = m.opaque ? 0 : 1;
	s->root->st_ino = 1;
	s->root->up_dev = st.st_dev;
	s->root->up_ino = st.st_ino;
	node_insert(s->nodes, s->root);
	node_hold(s->nodes, s->root); /* the root lives as long as the mount */
	fd_cache_limit(s->nodes, fd_budget());
	umask(0); /* modes arrive with the caller's umask applied; ours must not apply again */
	return 0;
}

void overlay_close(struct server *s)
{
	if (s->nodes)
		node_table_free(s->nodes); /* the root too, and with it upper_fd */
	else if (s->upper_fd >= 0)
		close(s->upper_fd);
	if (s->work_fd >= 0)
		close(s->work_fd);
	s->nodes = NULL;
	s->root = NULL;
	s->upper_fd = s->work_fd = -1;
}

const struct fuse_lowlevel_ops overlay_ops = {
	.init = ovl_init,
	.lookup = ovl_lookup,
	.forget = ovl_forget,
	.forget_multi = ovl_forget_multi,
	.getattr = ovl_getattr,
	.setattr = ovl_setattr,
	.readlink = ovl_readlink,
	.mknod = ovl_mknod,
	.mkdir = ovl_mkdir,
	.unlink = ovl_unlink,
	.rmdir = ovl_rmdir,
	.symlink = ovl_symlink,
	.rename = ovl_rename,
	.link = ovl_link,
	.open = ovl_open,
	.read = ovl_read,
	.write_buf = ovl_write_buf,
	.flush = ovl_flush,
	.release = ovl_release,
	.fsync = ovl_fsync,
	.opendir = ovl_opendir,
	.readdirplus = ovl_readdirplus,
	.releasedir = ovl_releasedir,
	.fsyncdir = ovl_fsyncdir,
	.statfs = ovl_statfs,
	.setxattr = ovl_setxattr,
	.getxattr = ovl_getxattr,
	.listxattr = ovl_listxattr,
	.removexattr = ovl_removexattr,
	.create = ovl_create,
	.fallocate = ovl_fallocate,
};
