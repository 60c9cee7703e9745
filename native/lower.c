/* A read-only image mount: every request is answered from the mapped view and the layer tars.
 * Node ids are view inode numbers, so nothing is allocated per inode and forget is a no-op. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statvfs.h>

#include "server.h"

#define DIRBUF_SIZE 65536

static void want(struct fuse_conn_info *conn, unsigned cap)
{
	conn->want |= cap & conn->capable;
}

static void lower_init(void *data, struct fuse_conn_info *conn)
{
	/* Always readdirplus: one request fills the dentry and attribute caches of a whole directory. */
	want(conn, FUSE_CAP_READDIRPLUS | FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
		   FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_ASYNC_READ);
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	conn->time_gran = 1;
	((struct server *)data)->caps = conn->capable;
	server_ready(data);
}

/* An entry for `ino`; 0 makes a negative entry, which the kernel also caches for the timeout. */
static void fill_entry(const struct server *s, uint64_t ino, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof *e);
	e->ino = ino;
	e->attr_timeout = e->entry_timeout = s->timeout;
	if (ino)
		view_stat(&s->view, ino, &e->attr);
}

static int do_lookup(const struct server *s, fuse_ino_t parent, const char *name, struct fuse_entry_param *e)
{
	size_t len = strlen(name);
	if (!view_is_dir(&s->view, parent))
		return ENOTDIR;
	if (len > VIEW_MAX_NAME)
		return ENAMETOOLONG;
	fill_entry(s, view_lookup(&s->view, parent, name, len), e);
	return 0;
}

static void lower_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int err = do_lookup(server_of(req), parent, name, &e);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void lower_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	(void)ino;
	(void)nlookup;
	fuse_reply_none(req);
}

static void lower_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	(void)count;
	(void)forgets;
	fuse_reply_none(req);
}

static void lower_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct server *s = server_of(req);
	struct stat st;
	(void)fi;
	view_stat(&s->view, ino, &st);
	fuse_reply_attr(req, &st, s->timeout);
}

static void lower_readlink(fuse_req_t req, fuse_ino_t ino)
{
	const struct view *v = &server_of(req)->view;
	const struct view_inode *n = view_inode(v, ino);
	if (!S_ISLNK(n->mode))
		fuse_reply_err(req, EINVAL);
	else /* the reply is the target's bytes; no terminator needed */
		fuse_reply_buf(req, (const char *)view_name(v, n->data), n->size);
}

/* With FUSE_NO_OPEN_SUPPORT, ENOSYS tells the kernel to stop sending OPEN and RELEASE for this
 * mount and to keep the page cache across opens: two round trips fewer per file opened. */
static int no_open_support(fuse_req_t req, unsigned cap)
{
	return (server_of(req)->caps & cap) != 0;
}

static void lower_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	if ((fi->flags & O_ACCMODE) == O_RDONLY && no_open_support(req, FUSE_CAP_NO_OPEN_SUPPORT)) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fi->keep_cache = 1; /* lower data never changes: keep the page cache across opens */
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void lower_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct server *s = server_of(req);
	(void)fi;
	reply_lower_read(req, s, view_inode(&s->view, ino), off, size);
}

static void lower_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	if (no_open_support(req, FUSE_CAP_NO_OPENDIR_SUPPORT)) { /* the kernel then caches readdir itself */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

/* Entry `i` of directory `dir` as readdir numbers them: 0 is ".", 1 is "..", then the dirents. */
static uint64_t dirent_at(const struct view *v, uint64_t dir, uint64_t i, char name[VIEW_MAX_NAME + 1])
{
	const struct view_inode *d = view_inode(v, dir);
	const struct view_dirent *e;
	if (i < 2) {
		strcpy(name, i ? ".." : ".");
		return i ? d->parent : dir;
	}
	e = &v->dirents[d->data + i - 2];
	memcpy(name, view_name(v, e->name_off), e->name_len);
	name[e->name_len] = 0;
	return e->ino;
}

/* Adds entry `i` to `buf`; returns its size, which is more than `room` when it did not fit. */
static size_t add_entry(fuse_req_t req, const struct server *s, uint64_t dir, uint64_t i, char *buf, size_t room, int plus)
{
	char name[VIEW_MAX_NAME + 1];
	uint64_t ino = dirent_at(&s->view, dir, i, name);
	struct fuse_entry_param e;
	if (!plus || i < 2) { /* the kernel takes no reference for "." and ".." */
		memset(&e, 0, sizeof e);
		e.attr.st_ino = ino;
		e.attr.st_mode = view_inode(&s->view, ino)->mode;
	} else {
		fill_entry(s, ino, &e);
	}
	if (plus)
		return fuse_add_direntry_plus(req, buf, room, name, &e, i + 1);
	return fuse_add_direntry(req, buf, room, name, &e.attr, i + 1);
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus)
{
	struct server *s = server_of(req);
	uint64_t count = view_inode(&s->view, ino)->size + 2;
	char buf[DIRBUF_SIZE];
	size_t used = 0;
	if (size > sizeof buf)
		size = sizeof buf;
	for (uint64_t i = off < 0 ? 0 : (uint64_t)off; i < count; i++) {
		size_t n = add_entry(req, s, ino, i, buf + used, size - used, plus);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

static void lower_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, 0);
}

static void lower_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, 1);
}

static void lower_statfs(fuse_req_t req, fuse_ino_t ino)
{
	const struct view_header *h = server_of(req)->view.h;
	struct statvfs st;
	(void)ino;
	memset(&st, 0, sizeof st);
	st.f_bsize = st.f_frsize = 4096;
	st.f_blocks = (h->file_bytes + 4095) / 4096;
	st.f_files = h->inode_count;
	st.f_namemax = VIEW_MAX_NAME;
	fuse_reply_statfs(req, &st);
}

/* The xattr protocol: size 0 asks for the length; a short buffer is ERANGE. */
static void reply_xattr_bytes(fuse_req_t req, const void *val, size_t len, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, len);
}

static void lower_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	const uint8_t *val;
	size_t len;
	int err = view_getxattr(&server_of(req)->view, ino, name, &val, &len);
	if (err)
		fuse_reply_err(req, err);
	else
		reply_xattr_bytes(req, val, len, size);
}

static void lower_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char buf[DIRBUF_SIZE];
	size_t len = view_listxattr(&server_of(req)->view, ino, buf, sizeof buf);
	if (len > sizeof buf)
		fuse_reply_err(req, E2BIG);
	else
		reply_xattr_bytes(req, buf, len, size);
}

const struct fuse_lowlevel_ops lower_ops = {
	.init = lower_init,
	.lookup = lower_lookup,
	.forget = lower_forget,
	.forget_multi = lower_forget_multi,
	.getattr = lower_getattr,
	.readlink = lower_readlink,
	.open = lower_open,
	.read = lower_read,
	.opendir = lower_opendir,
	.readdir = lower_readdir,
	.readdirplus = lower_readdirplus,
	.statfs = lower_statfs,
	.getxattr = lower_getxattr,
	.listxattr = lower_listxattr,
};
