/* unlink and rmdir in a writable mount. An upper entry goes; where a lower entry sits at the same
 * position, a whiteout takes its place in the same rename (RENAME_WHITEOUT), so the lower entry
 * never shows through, not even for a moment. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "links.h"
#include "node-fd.h"
#include "overlay.h"

/* Moves upper entry `name` out of `dirfd` into the work dir under `tmp`, leaving a whiteout when
 * `whiteout`; the caller removes `tmp`. */
static int move_out(struct server *s, int dirfd, const char *name, int whiteout, char tmp[64])
{
	temp_name(tmp);
	if (!renameat2(dirfd, name, s->work_fd, tmp, whiteout ? RENAME_WHITEOUT : 0))
		return 0;
	if (errno != EINVAL || !whiteout)
		return errno;
	/* a filesystem without RENAME_WHITEOUT: the same in two steps */
	if (renameat(dirfd, name, s->work_fd, tmp))
		return errno;
	return make_whiteout(dirfd, name);
}

/* The directory entry `name` left: its host ctime is the one to show again. */
static void parent_changed(struct server *s, struct node *parent, const char *name)
{
	struct cursor c;
	if (!dir_cursor(s, parent, 0, &c) && c.up_fd >= 0)
		dir_entry_changed(s, parent, c.up_fd, name);
}

/* Hides lower entry `name` with a whiteout in the (copied-up) parent. */
static int whiteout_lower(struct server *s, struct node *parent, const char *name)
{
	struct cursor c;
	int err = dir_cursor(s, parent, 1, &c);
	return err ? err : make_whiteout(c.up_fd, name);
}

/* Removes upper non-directory `name` of `dirfd`, leaving a whiteout if a lower entry is `here`.
 * Its inode is pinned (an open fd still reaches it) and its ctime changes, as a link count does. */
static int remove_upper_file(struct server *s, int dirfd, const char *name, const struct entry *e)
{
	char tmp[64];
	int err;
	pin_upper(s, e->st.st_dev, e->st.st_ino);
	drop_kept_ctime_at(dirfd, name);
	if (!e->here)
		return unlinkat(dirfd, name, 0) ? errno : 0;
	if (!(err = move_out(s, dirfd, name, 1, tmp)))
		unlinkat(s->work_fd, tmp, 0);
	return err;
}

static int do_unlink(struct server *s, struct node *parent, const char *name)
{
	struct cursor c;
	struct entry e;
	int err = resolve_in(s, parent, name, 0, &c, &e);
	if (!err && e.exists && !e.upper && !S_ISDIR(e.type) && view_inode(&s->view, e.lower)->nlink > 1 &&
	    visible_links(s, e.lower) > 1) {
		/* the other names of a lower hard link must see this one go: make them upper links first */
		entry_release(&e);
		if (!(err = copy_up_group(s, e.lower)))
			err = resolve_in(s, parent, name, 0, &c, &e);
	}
	if (!err && !e.exists)
		err = ENOENT;
	else if (!err && S_ISDIR(e.type))
		err = EISDIR;
	else if (!err && !e.upper)
		err = whiteout_lower(s, parent, name);
	else if (!err)
		err = remove_upper_file(s, c.up_fd, name, &e);
	if (!err) {
		drop_lower_name(s, &e);
		parent_changed(s, parent, name);
	}
	entry_release(&e);
	return err;
}

void ovl_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct server *s = server_of(req);
	fuse_reply_err(req, do_unlink(s, node_of(s, parent), name));
}

/* Removes an upper directory that holds nothing but whiteouts, leaving a whiteout if `here`. */
static int remove_upper_dir(struct server *s, int dirfd, const char *name, struct entry *e)
{
	char tmp[64];
	int err = move_out(s, dirfd, name, e->here != 0, tmp);
	if (err)
		return err;
	err = clear_whiteouts(e->up_fd);
	/* moving it (its "..") and clearing it changed its mtime: an fd still open on it must not see that */
	futimens(e->up_fd, (struct timespec[2]){ e->st.st_atim, e->st.st_mtim });
	if (err || unlinkat(s->work_fd, tmp, AT_REMOVEDIR)) {
		fprintf(stderr, "lamina-mountd: removed directory %s left in the work dir: %s\n", tmp, strerror(err ? err : errno));
	}
	return 0;
}

static int do_rmdir(struct server *s, struct node *parent, const char *name)
{
	struct cursor c;
	struct entry e;
	int empty = 0, err = resolve_in(s, parent, name, 0, &c, &e);
	if (!err && !e.exists)
		err = ENOENT;
	else if (!err && !S_ISDIR(e.type))
		err = ENOTDIR;
	else if (!err && !(err = dir_is_empty(s, &e, &empty)) && !empty)
		err = ENOTEMPTY;
	else if (!err && !e.upper)
		err = whiteout_lower(s, parent, name);
	else if (!err)
		err = remove_upper_dir(s, c.up_fd, name, &e);
	if (!err)
		parent_changed(s, parent, name);
	entry_release(&e);
	return err;
}

void ovl_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct server *s = server_of(req);
	fuse_reply_err(req, do_rmdir(s, node_of(s, parent), name));
}
