/* rename in a writable mount, as overlayfs does it with redirect_dir=on and metacopy=on: the
 * source is copied up (metadata only), a moved directory that merges a lower one records where
 * that lower directory is (trusted.overlay.redirect), a moved metacopy file where its data is, a
 * directory landing on a lower entry without one becomes opaque, and the source position gets a
 * whiteout in the same rename when a lower entry sits there. No EXDEV, ever. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "links.h"
#include "node-fd.h"
#include "overlay.h"

/* The markers node `n` needs to mean the same thing at a position whose lower entry is `here`. */
static int mark_for_move(struct server *s, struct node *n, uint64_t here, int *became_opaque)
{
	char path[REDIRECT_MAX];
	int fd, err;
	*became_opaque = 0;
	pthread_mutex_lock(&n->lock);
	if ((err = node_fd_get_held(s, n, &fd))) {
		pthread_mutex_unlock(&n->lock);
		return err;
	}
	if (S_ISDIR(n->type) && n->lower_dir) {
		if (!(err = view_path_of(&s->view, n->lower_dir, path, sizeof path)))
			err = set_xattr(fd, OVL_REDIRECT, path, strlen(path));
	} else if (S_ISDIR(n->type) && here) {
		err = set_xattr(fd, OVL_OPAQUE, "y", 1);
		*became_opaque = !err;
	} else if (S_ISREG(n->type) && n->metacopy && n->lower_data) {
		if (!(err = view_path_of(&s->view, n->lower_data, path, sizeof path)))
			err = set_xattr(fd, OVL_REDIRECT, path, strlen(path));
	}
	node_fd_put_held(n, fd);
	pthread_mutex_unlock(&n->lock);
	return err;
}

/* Renames with a whiteout left at the source; without RENAME_WHITEOUT support, in two steps. */
static int rename_leaving(struct server *s, int fd1, const char *n1, int fd2, const char *n2, int whiteout)
{
	(void)s;
	if (!renameat2(fd1, n1, fd2, n2, whiteout ? RENAME_WHITEOUT : 0))
		return 0;
	if (errno != EINVAL || !whiteout)
		return errno;
	if (renameat(fd1, n1, fd2, n2))
		return errno;
	return make_whiteout(fd1, n1);
}

/* Moves the (copied-up) source onto the destination name; `dst` as resolved before. */
static int move_entry(struct server *s, const struct cursor *c1, const char *n1, const struct cursor *c2, const char *n2,
		      const struct entry *src, const struct entry *dst)
{
	int whiteout = src->here != 0;
	if (dst->whiteout && S_ISDIR(src->type)) { /* a directory cannot replace a whiteout: swap them */
		if (renameat2(c1->up_fd, n1, c2->up_fd, n2, RENAME_EXCHANGE))
			return errno;
		return whiteout || !unlinkat(c1->up_fd, n1, 0) ? 0 : errno;
	}
	return rename_leaving(s, c1->up_fd, n1, c2->up_fd, n2, whiteout);
}

static int same_object(const struct entry *a, const struct entry *b)
{
	if (a->upper && b->upper)
		return a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino;
	return !a->upper && !b->upper && a->lower == b->lower && !S_ISDIR(a->type);
}

/* The destination may be replaced: type rules, and an empty directory (its whiteouts cleared). */
static int check_target(struct server *s, const struct entry *src, const struct entry *dst)
{
	int empty = 0, err;
	if (!dst->exists)
		return 0;
	if (S_ISDIR(src->type) && !S_ISDIR(dst->type))
		return ENOTDIR;
	if (!S_ISDIR(src->type) && S_ISDIR(dst->type))
		return EISDIR;
	if (!S_ISDIR(dst->type))
		return 0;
	if ((err = dir_is_empty(s, dst, &empty)) || !empty)
		return err ? err : ENOTEMPTY;
	return dst->up_fd >= 0 ? clear_whiteouts(dst->up_fd) : 0;
}

/* The node of an existing entry, copied up (metadata only) and marked for position `here`. */
static int prepare_side(struct server *s, struct node *parent, const char *name, struct entry *e, uint64_t here, struct node **out, int *opaque)
{
	int err = node_from_entry(s, parent, name, e, out);
	if (!err && !(err = copy_up(s, *out, COPY_META)))
		err = mark_for_move(s, *out, here, opaque);
	return err;
}

static void moved(struct server *s, struct node *n, struct node *parent, const char *name, int opaque)
{
	int fd;
	node_move(s->nodes, n, parent, name);
	if (!node_fd_get(s, n, &fd)) { /* a moved entry's ctime changes, as on any Linux filesystem */
		node_changed(n, fd);
		node_fd_put(n, fd);
	}
	if (opaque) {
		pthread_mutex_lock(&n->lock);
		n->lower_dir = 0;
		pthread_mutex_unlock(&n->lock);
	}
}

static int do_exchange(struct server *s, struct node *p1, const char *n1, struct node *p2, const char *n2,
		       const struct cursor *c1, const struct cursor *c2, struct entry *src, struct entry *dst)
{
	struct node *a = NULL, *b = NULL;
	int oa = 0, ob = 0, err;
	if (!dst->exists)
		return ENOENT;
	err = prepare_side(s, p1, n1, src, dst->here, &a, &oa);
	if (!err)
		err = prepare_side(s, p2, n2, dst, src->here, &b, &ob);
	if (!err && renameat2(c1->up_fd, n1, c2->up_fd, n2, RENAME_EXCHANGE))
		err = errno;
	if (!err) {
		moved(s, a, p2, n2, oa);
		moved(s, b, p1, n1, ob);
		dir_entry_changed(s, p1, c1->up_fd, n1);
		dir_entry_changed(s, p2, c2->up_fd, n2);
	}
	if (a)
		node_forget(s->nodes, a, 1);
	if (b)
		node_forget(s->nodes, b, 1);
	return err;
}

static int do_move(struct server *s, struct node *p1, const char *n1, struct node *p2, const char *n2,
		   const struct cursor *c1, const struct cursor *c2, struct entry *src, struct entry *dst, unsigned flags)
{
	struct node *n = NULL;
	int opaque = 0, err;
	if ((flags & RENAME_NOREPLACE) && dst->exists)
		return EEXIST;
	if ((err = check_target(s, src, dst)))
		return err;
	err = prepare_side(s, p1, n1, src, dst->here, &n, &opaque);
	if (!err && dst->upper && !S_ISDIR(dst->type)) {
		pin_upper(s, dst->st.st_dev, dst->st.st_ino); /* its name goes: keep a handle on it */
		drop_kept_ctime_at(c2->up_fd, n2); /* and its ctime changes */
	}
	if (!err)
		err = move_entry(s, c1, n1, c2, n2, src, dst);
	if (!err) {
		moved(s, n, p2, n2, opaque);
		if (dst->exists && !S_ISDIR(dst->type))
			drop_lower_name(s, dst);
		dir_entry_changed(s, p1, c1->up_fd, n1);
		dir_entry_changed(s, p2, c2->up_fd, n2);
	}
	if (n)
		node_forget(s->nodes, n, 1);
	return err;
}

/* Lower hard-link groups touched by the move: below a moving directory (a name moved with it is
 * not found at its lower path), and a file whose name is replaced (its other names change). */
static int keep_groups(struct server *s, const struct entry *src, const struct entry *dst, unsigned flags)
{
	int err = 0;
	if (S_ISDIR(src->type) && src->lower)
		err = copy_up_groups_below(s, src->lower);
	if (!err && dst->exists && S_ISDIR(dst->type) && dst->lower && (flags & RENAME_EXCHANGE))
		err = copy_up_groups_below(s, dst->lower);
	if (!err && dst->exists && !dst->upper && !S_ISDIR(dst->type))
		err = copy_up_group(s, dst->lower);
	if (!err && !src->upper && !S_ISDIR(src->type))
		err = copy_up_group(s, src->lower);
	return err;
}

/* Everything that can refuse the rename, checked before anything is copied up: a refused
 * rename changes nothing. 1 when it is a no-op (two names of one file), else 0 or an errno. */
static int precheck(struct server *s, struct node *p1, const char *n1, struct node *p2, const char *n2, unsigned flags)
{
	struct cursor c1, c2;
	struct entry src = { .up_fd = -1 }, dst = { .up_fd = -1 };
	int empty = 1, err = resolve_in(s, p1, n1, 0, &c1, &src);
	if (!err)
		err = resolve_in(s, p2, n2, 0, &c2, &dst);
	if (!err && !src.exists)
		err = ENOENT;
	else if (!err && dst.exists && same_object(&src, &dst))
		err = -1;
	else if (!err && (flags & RENAME_EXCHANGE))
		err = dst.exists ? 0 : ENOENT;
	else if (!err && dst.exists && (flags & RENAME_NOREPLACE))
		err = EEXIST;
	else if (!err && dst.exists && S_ISDIR(src.type) != S_ISDIR(dst.type))
		err = S_ISDIR(src.type) ? ENOTDIR : EISDIR;
	else if (!err && dst.exists && S_ISDIR(dst.type) && !(err = dir_is_empty(s, &dst, &empty)) && !empty)
		err = ENOTEMPTY;
	if (!err) /* lower hard links that move, or lose a name, become upper links first */
		err = keep_groups(s, &src, &dst, flags);
	entry_release(&src);
	entry_release(&dst);
	return err;
}

static int do_rename(struct server *s, struct node *p1, const char *n1, struct node *p2, const char *n2, unsigned flags)
{
	struct cursor c1, c2;
	struct entry src, dst;
	int err;
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return EINVAL;
	if ((err = precheck(s, p1, n1, p2, n2, flags)))
		return err < 0 ? 0 : err;
	if ((err = dir_cursor(s, p1, 1, &c1)) || (err = dir_cursor(s, p2, 1, &c2)))
		return err;
	if ((err = resolve_entry(s, &c1, n1, &src)))
		return err;
	if (!src.exists) {
		entry_release(&src);
		return ENOENT;
	}
	if ((err = resolve_entry(s, &c2, n2, &dst))) {
		entry_release(&src);
		return err;
	}
	if (dst.exists && same_object(&src, &dst))
		err = 0; /* two names of one file: POSIX says do nothing */
	else if (flags & RENAME_EXCHANGE)
		err = do_exchange(s, p1, n1, p2, n2, &c1, &c2, &src, &dst);
	else
		err = do_move(s, p1, n1, p2, n2, &c1, &c2, &src, &dst, flags);
	entry_release(&src);
	entry_release(&dst);
	return err;
}

void ovl_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname, unsigned flags)
{
	struct server *s = server_of(req);
	fuse_reply_err(req, do_rename(s, node_of(s, parent), name, node_of(s, newparent), newname, flags));
}
