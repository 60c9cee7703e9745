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

#include "node-fd.h"
#include "overlay.h"
#include "loop.h"

/* What to make, and the fd a new regular file was opened with. */
struct spec {
	mode_t type, mode;
	dev_t rdev;
	const char *target;
	int flags, fd;
};

int in_group(fuse_req_t req, gid_t gid)
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
static void new_owner(fuse_req_t req, int parent_fd, struct spec *sp, uid_t *uid, gid_t *gid, int *parent_sgid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct stat pst;
	*uid = ctx->uid;
	*gid = ctx->gid;
	*parent_sgid = !fstat(parent_fd, &pst) && (pst.st_mode & S_ISGID);
	if (*parent_sgid) {
		*gid = pst.st_gid;
		if (S_ISDIR(sp->type))
			sp->mode |= S_ISGID;
	}
	if (!S_ISDIR(sp->type) && (sp->mode & S_ISGID) && *uid != 0 && !in_group(req, *gid))
		sp->mode &= ~S_ISGID;
}

/* Whether an entry make() put straight into its directory already has the owner and mode asked
 * for: this server (root) made it, so it has root's IDs (the group of a setgid directory) and
 * make()'s mode. Then finish() leaves both: two system calls fewer for each file a root tar
 * unpacks. */
static int made_as_asked(const struct spec *sp, uid_t uid, gid_t gid, int parent_sgid)
{
	mode_t made = S_ISDIR(sp->type) ? 0700 | (parent_sgid ? S_ISGID : 0) : 0600;
	return uid == geteuid() && (parent_sgid || gid == getegid()) && /* new_owner gave it the directory's group */
	       (S_ISLNK(sp->type) || (sp->mode & 07777) == made);
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
static int finish(int dirfd, const char *name, const struct spec *sp, uid_t uid, gid_t gid, int opaque, int as_asked)
{
	int fd, err = 0;
	if (!as_asked && fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW))
		return errno;
	if (!as_asked && sp->type != S_IFLNK && fchmodat(dirfd, name, sp->mode & 07777, 0))
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
	int parent_sgid;
	new_owner(req, c->up_fd, sp, &uid, &gid, &parent_sgid);
	if (whiteout) {
		temp_name(tmp);
		at = tmp;
		dirfd = s->work_fd;
	}
	if ((err = make(dirfd, at, sp)))
		return err;
	/* in the work dir (to replace a whiteout) an entry takes the work dir's group: always set */
	err = finish(dirfd, at, sp, uid, gid, whiteout && sp->type == S_IFDIR,
		     !whiteout && made_as_asked(sp, uid, gid, parent_sgid));
	if (!err && whiteout)
		err = replace_whiteout(s, tmp, c->up_fd, name, sp->type == S_IFDIR);
	if (err)
		undo(dirfd, at, sp);
	return err;
}

/* The entry just made: its stat (the new file's own fd, else by name) and, for a directory, its fd. */
static int fresh_entry(const struct cursor *c, const char *name, const struct spec *sp, int opaque, struct entry *e)
{
	memset(e, 0, sizeof *e);
	e->up_fd = -1;
	e->exists = e->upper = e->fresh = 1;
	e->type = sp->type;
	e->m.opaque = opaque;
	if (sp->type == S_IFDIR && (e->up_fd = openat(c->up_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno;
	if (sp->fd >= 0 ? fstat(sp->fd, &e->st) : e->up_fd >= 0 ? fstat(e->up_fd, &e->st) : fstatat(c->up_fd, name, &e->st, AT_SYMLINK_NOFOLLOW))
		return errno;
	return 0;
}

/* Makes `name` in `parent` as `sp` says and gives back its node (one lookup counted) and stat. */
static int make_entry(fuse_req_t req, struct server *s, struct node *parent, const char *name, struct spec *sp, struct node **out, struct stat *st)
{
	struct cursor c;
	struct entry e;
	int whiteout, err = resolve_in(s, parent, name, 0, &c, &e);
	if (err)
		return err;
	whiteout = e.whiteout;
	if (e.exists)
		err = EEXIST; /* before any copy-up: a failed create changes nothing */
	else if (c.up_fd < 0)
		err = dir_cursor(s, parent, 1, &c); /* a parent with no upper directory holds no whiteout */
	if (!err)
		err = make_in_place(req, s, &c, name, whiteout, sp);
	entry_release(&e);
	if (!err)
		dir_entry_changed(s, parent, c.up_fd, name);
	if (!err && !(err = fresh_entry(&c, name, sp, whiteout && sp->type == S_IFDIR, &e))) {
		*st = e.st;
		err = node_from_entry(s, parent, name, &e, out);
	}
	entry_release(&e);
	if (err && sp->fd >= 0) {
		close(sp->fd);
		sp->fd = -1;
	}
	return err;
}

/* The entry reply for a new node `n` (its stat `st` taken when it was made, or NULL). */
static void reply_made(fuse_req_t req, struct server *s, int err, struct node *n, const struct stat *st)
{
	struct fuse_entry_param ep;
	if (!err && st)
		entry_of_stat(s, n, st, &ep);
	else if (!err && (err = entry_of_node(s, n, &ep)))
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
	struct stat st;
	int err = make_entry(req, s, node_of(s, parent), name, &sp, &n, &st);
	reply_made(req, s, err, n, &st);
}

void ovl_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct server *s = server_of(req);
	struct spec sp = { .type = mode & S_IFMT, .mode = mode, .rdev = rdev, .fd = -1 };
	struct node *n = NULL;
	struct stat st;
	int err = S_ISCHR(mode) && rdev == makedev(0, 0) ? EPERM : 0; /* it would read as a whiteout */
	if (!err)
		err = make_entry(req, s, node_of(s, parent), name, &sp, &n, &st);
	reply_made(req, s, err, n, &st);
}

void ovl_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct server *s = server_of(req);
	struct spec sp = { .type = S_IFLNK, .mode = 0777, .target = link, .fd = -1 };
	struct node *n = NULL;
	struct stat st;
	int err = make_entry(req, s, node_of(s, parent), name, &sp, &n, &st);
	reply_made(req, s, err, n, &st);
}

void ovl_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	struct server *s = server_of(req);
	struct spec sp = { .type = S_IFREG, .mode = mode, .flags = fi->flags, .fd = -1 };
	struct fuse_entry_param ep;
	struct handle *h = NULL;
	struct node *n = NULL;
	struct stat st;
	int err = make_entry(req, s, node_of(s, parent), name, &sp, &n, &st);
	if (!err && !(h = calloc(1, sizeof *h)))
		err = ENOMEM;
	if (!err)
		entry_of_stat(s, n, &st, &ep);
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

static int link_into(struct server *s, int src, const struct cursor *c, const char *name, int whiteout)
{
	char tmp[64];
	int err;
	if (!whiteout)
		return linkat(src, "", c->up_fd, name, AT_EMPTY_PATH) ? errno : 0;
	temp_name(tmp);
	if (linkat(src, "", s->work_fd, tmp, AT_EMPTY_PATH))
		return errno;
	if ((err = renameat(s->work_fd, tmp, c->up_fd, name) ? errno : 0))
		unlinkat(s->work_fd, tmp, 0);
	return err;
}

static int do_link(struct server *s, struct node *n, struct node *parent, const char *name, struct stat *st)
{
	struct cursor c;
	struct entry e;
	int fd, err = resolve_in(s, parent, name, 0, &c, &e);
	if (!err && e.exists)
		err = EEXIST; /* before any copy-up: a failed link changes nothing */
	entry_release(&e);
	/* every name shares the one upper file: it needs the data */
	if (err || (err = copy_up(s, n, COPY_DATA)) || (err = resolve_in(s, parent, name, 1, &c, &e)))
		return err;
	if (e.exists)
		err = EEXIST;
	else if (!(err = node_fd_get(s, n, &fd))) {
		err = link_into(s, fd, &c, name, e.whiteout);
		if (!err) { /* the new name's directory and the file (one more link) changed */
			dir_entry_changed(s, parent, c.up_fd, name);
			node_changed(n, fd);
		}
		if (!err && fstat(fd, st))
			err = errno;
		node_fd_put(n, fd);
	}
	entry_release(&e);
	return err;
}

struct link_job {
	fuse_req_t req;
	fuse_ino_t ino, parent;
	char name[256];
};

static void link_now(void *arg)
{
	struct link_job *j = arg;
	struct server *s = server_of(j->req);
	struct node *n = node_of(s, j->ino), *found = NULL;
	struct stat st;
	int err = do_link(s, n, node_of(s, j->parent), j->name, &st);
	if (!err) /* the reply counts a lookup of n */
		found = node_find(s->nodes, st.st_dev, st.st_ino, 0);
	reply_made(j->req, s, err ? err : found == n ? 0 : EIO, n, NULL);
	free(j);
}

void ovl_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	struct server *s = server_of(req);
	struct link_job *j = calloc(1, sizeof *j);
	if (!j || strlen(name) > 255) {
		fuse_reply_err(req, j ? ENAMETOOLONG : ENOMEM);
		free(j);
		return;
	}
	*j = (struct link_job){ .req = req, .ino = ino, .parent = parent };
	strcpy(j->name, name);
	if (copy_is_slow(s, node_of(s, ino), COPY_DATA))
		loop_after(link_now, j); /* the data comes up first: slow work (loop.h) */
	else
		link_now(j);
}
