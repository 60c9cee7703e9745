/* New entries in a writable mount: create, mkdir, mknod, symlink, link. Each is made in the
 * parent's upper directory, or, where a whiteout holds the name, in the work dir and renamed over
 * the whiteout in one step (a directory made there is opaque: nothing below shows through). */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "overlay.h"

/* What to make, and the fd a new regular file was opened with. */
struct spec {
	mode_t type, mode;
	dev_t rdev;
	const char *target;
	int flags, fd;
};

static int in_group(fuse_req_t req, gid_t gid)
{
	gid_t groups[256];
	int n = fuse_req_getgroups(req, 256, groups);
	if (fuse_req_ctx(req)->gid == gid)
		return 1;
	for (int i = 0; i < n && i < 256; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* The caller owns a new entry; in a setgid directory it takes the directory's group (and a new
 * directory its setgid bit). A file keeps setgid only when the caller belongs to its group. */
static void new_owner(fuse_req_t req, int parent_fd, struct spec *sp, uid_t *uid, gid_t *gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct stat pst;
	*uid = ctx->uid;
	*gid = ctx->gid;
	if (!fstat(parent_fd, &pst) && (pst.st_mode & S_ISGID)) {
		*gid = pst.st_gid;
		if (S_ISDIR(sp->type))
			sp->mode |= S_ISGID;
	}
	if (!S_ISDIR(sp->type) && (sp->mode & S_ISGID) && *uid != 0 && !in_group(req, *gid))
		sp->mode &= ~S_ISGID;
}

static int make(int dirfd, const char *name, struct spec *sp)
{
	switch (sp->type) {
	case S_IFREG:
		sp->fd = openat(dirfd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
		return sp->fd < 0 ? errno : 0;
	case S_IFDIR:
		return mkdirat(dirfd, name, 0700) ? errno : 0;
	case S_IFLNK:
		return symlinkat(sp->target, dirfd, name) ? errno : 0;
	default:
		return mknodat(dirfd, name, sp->type | 0600, sp->rdev) ? errno : 0;
	}
}

/* Owner then mode (chown clears setuid bits); an opaque marker for a directory over a whiteout. */
static int finish(int dirfd, const char *name, const struct spec *sp, uid_t uid, gid_t gid, int opaque)
{
	int fd, err = 0;
	if (fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW))
		return errno;
	if (sp->type != S_IFLNK && fchmodat(dirfd, name, sp->mode & 07777, 0))
		return errno;
	if (!opaque)
		return 0;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno;
	err = set_xattr(fd, OVL_OPAQUE, "y", 1);
	close(fd);
	return err;
}

/* Puts temp entry `tmp` of the work dir in place of the whiteout `name` in `dirfd`. */
static int replace_whiteout(struct server *s, const char *tmp, int dirfd, const char *name, int is_dir)
{
	if (!is_dir)
		return renameat(s->work_fd, tmp, dirfd, name) ? errno : 0;
	/* a directory cannot be renamed over a non-directory: swap, then drop the whiteout */
	if (renameat2(s->work_fd, tmp, dirfd, name, RENAME_EXCHANGE))
		return errno;
	unlinkat(s->work_fd, tmp, 0);
	return 0;
}

static void undo(int dirfd, const char *name, const struct spec *sp)
{
	unlinkat(dirfd, name, sp->type == S_IFDIR ? AT_REMOVEDIR : 0);
}

static int make_in_place(fuse_req_t req, struct server *s, const struct cursor *c, const char *name, int whiteout, struct spec *sp)
{
	char tmp[64];
	const char *at = name;
	int dirfd = c->up_fd, err;
	uid_t uid;
	gid_t gid;
	new_owner(req, c->up_fd, sp, &uid, &gid);
	if (whiteout) {
		temp_name(tmp);
		at = tmp;
		dirfd = s->work_fd;
	}
	if ((err = make(dirfd, at, sp)))
		return err;
	err = finish(dirfd, at, sp, uid, gid, whiteout && sp->type == S_IFDIR);
	if (!err && whiteout)
		err = replace_whiteout(s, tmp, c->up_fd, name, sp->type == S_IFDIR);
	if (err)
		undo(dirfd, at, sp);
	return err;
}

static int reserved_name(const char *name)
{
	return !strncmp(name, ".wh.", 4); /* OCI whiteout names: a layer made from this mount could not hold them */
}

/* Makes `name` in `parent` as `sp` says and gives back its node with one lookup counted. */
static int make_entry(fuse_req_t req, struct server *s, struct node *parent, const char *name, struct spec *sp, struct node **out)
{
	struct cursor c;
	struct entry e;
	int err = reserved_name(name) ? EINVAL : resolve_in(s, parent, name, 1, &c, &e);
	if (err)
		return err;
	if (e.exists)
		err = EEXIST;
	else
		err = make_in_place(req, s, &c, name, e.whiteout, sp);
	entry_release(&e);
	if (!err && !(err = resolve_entry(s, &c, name, &e))) {
		err = e.exists ? node_from_entry(s, parent, name, &e, out) : ENOENT;
		entry_release(&e);
	}
	if (err && sp->fd >= 0) {
		close(sp->fd);
		sp->fd = -1;
	}
	return err;
}

static void reply_made(fuse_req_t req, struct server *s, int err, struct node *n)
{
	struct fuse_entry_param ep;
	if (!err && (err = entry_of_node(s, n, &ep)))
		node_forget(s->nodes, n, 1);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &ep);
}

void ovl_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct server *s = server_of(req);
	struct spec sp = { .type = S_IFDIR, .mode = mode, .fd = -1 };
	struct node *n = NULL;
	int err = make_entry(req, s, node_of(s, parent), name, &sp, &n);
	reply_made(req, s, err, n);
}

void ovl_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct server *s = server_of(req);
	struct spec sp = { .type = mode & S_IFMT, .mode = mode, .rdev = rdev, .fd = -1 };
	struct node *n = NULL;
	int err = S_ISCHR(mode) && rdev == makedev(0, 0) ? EPERM : 0; /* it would read as a whiteout */
	if (!err)
		err = make_entry(req, s, node_of(s, parent), name, &sp, &n);
	reply_made(req, s, err, n);
}

void ovl_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct server *s = server_of(req);
	struct spec sp = { .type = S_IFLNK, .mode = 0777, .target = link, .fd = -1 };
	struct node *n = NULL;
	int err = make_entry(req, s, node_of(s, parent), name, &sp, &n);
	reply_made(req, s, err, n);
}

void ovl_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	struct server *s = server_of(req);
	struct spec sp = { .type = S_IFREG, .mode = mode, .flags = fi->flags, .fd = -1 };
	struct fuse_entry_param ep;
	struct handle *h;
	struct node *n = NULL;
	int err = make_entry(req, s, node_of(s, parent), name, &sp, &n);
	if (!err && !(h = calloc(1, sizeof *h)))
		err = ENOMEM;
	if (!err && (err = entry_of_node(s, n, &ep)))
		free(h);
	if (err) {
		if (n)
			node_forget(s->nodes, n, 1);
		if (sp.fd >= 0)
			close(sp.fd);
		fuse_reply_err(req, err);
		return;
	}
	h->node = n;
	h->fd = sp.fd;
	node_hold(s->nodes, n);
	fi->fh = (uintptr_t)h;
	fi->keep_cache = 1;
	fi->noflush = 1;
	fuse_reply_create(req, &ep, fi);
}

static int do_link(struct server *s, struct node *n, struct node *parent, const char *name)
{
	struct cursor c;
	struct entry e;
	char tmp[64];
	int err = copy_up(s, n, COPY_DATA); /* every name shares the one upper file: it needs the data */
	if (!err && !(err = reserved_name(name) ? EINVAL : resolve_in(s, parent, name, 1, &c, &e))) {
		if (e.exists)
			err = EEXIST;
		else if (!e.whiteout)
			err = linkat(n->upper_fd, "", c.up_fd, name, AT_EMPTY_PATH) ? errno : 0;
		else if (temp_name(tmp), linkat(n->upper_fd, "", s->work_fd, tmp, AT_EMPTY_PATH))
			err = errno;
		else if ((err = renameat(s->work_fd, tmp, c.up_fd, name) ? errno : 0))
			unlinkat(s->work_fd, tmp, 0);
		entry_release(&e);
	}
	return err;
}

void ovl_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	struct server *s = server_of(req);
	struct node *n = node_of(s, ino), *found = NULL;
	struct stat st;
	int err = do_link(s, n, node_of(s, parent), name);
	if (!err && fstat(n->upper_fd, &st))
		err = errno;
	if (!err) /* the reply counts a lookup of n */
		found = node_find(s->nodes, st.st_dev, st.st_ino, 0);
	reply_made(req, s, err ? err : found == n ? 0 : EIO, n);
}
