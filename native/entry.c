#include "entry.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* A redirect names the lower directory (or metacopy data) this entry takes: absolute from the
 * lower root, or a name in the parent's lower directory. */
static uint64_t redirect_target(const struct server *s, const struct cursor *dir, const char *redirect)
{
	if (redirect[0] == '/')
		return view_resolve(&s->view, redirect);
	return dir->lower_dir ? view_lookup(&s->view, dir->lower_dir, redirect, strlen(redirect)) : 0;
}

/* The upper half: stat and markers of `name` in the upper directory (a directory is opened, other
 * types are not: they are reached through their parent when needed); ENOENT when absent. */
static int resolve_upper(const struct cursor *dir, const char *name, struct entry *e)
{
	if (dir->up_fd < 0)
		return ENOENT;
	if (fstatat(dir->up_fd, name, &e->st, AT_SYMLINK_NOFOLLOW))
		return errno;
	if (is_whiteout(&e->st)) {
		e->whiteout = 1;
		return 0;
	}
	e->upper = 1;
	if (!S_ISDIR(e->st.st_mode))
		return S_ISREG(e->st.st_mode) || S_ISLNK(e->st.st_mode) ? read_markers_at(dir->up_fd, name, &e->m) : 0;
	e->up_fd = openat(dir->up_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (e->up_fd < 0 || fstat(e->up_fd, &e->st))
		return errno;
	return read_markers(e->up_fd, &e->m);
}

/* Which lower object an upper entry merges (directories) or takes its data from (metacopy files). */
static uint64_t lower_below(const struct server *s, const struct cursor *dir, const struct entry *e)
{
	const struct view *v = &s->view;
	uint64_t lower;
	if (S_ISDIR(e->st.st_mode)) {
		if (e->m.opaque)
			return 0;
		lower = e->m.redirect[0] ? redirect_target(s, dir, e->m.redirect) : e->here;
		return lower && view_is_dir(v, lower) ? lower : 0;
	}
	if (!S_ISREG(e->st.st_mode) || !e->m.metacopy)
		return 0;
	lower = e->m.redirect[0] ? redirect_target(s, dir, e->m.redirect) : e->here;
	if (!lower && e->m.origin && view_has(v, e->m.origin))
		lower = e->m.origin;
	return lower && S_ISREG(view_inode(v, lower)->mode) ? lower : 0;
}

int resolve_entry(struct server *s, const struct cursor *dir, const char *name, struct entry *e)
{
	int err;
	memset(e, 0, sizeof *e);
	e->up_fd = -1;
	if (strlen(name) > VIEW_MAX_NAME)
		return ENAMETOOLONG;
	e->here = dir->lower_dir ? view_lookup(&s->view, dir->lower_dir, name, strlen(name)) : 0;
	err = resolve_upper(dir, name, e);
	if (err && err != ENOENT)
		return err;
	if (e->whiteout)
		return 0;
	if (e->upper) {
		e->exists = 1;
		e->type = e->st.st_mode & S_IFMT;
		e->lower = lower_below(s, dir, e);
		return 0;
	}
	if (e->here) {
		e->exists = 1;
		e->lower = e->here;
		e->type = view_inode(&s->view, e->here)->mode & S_IFMT;
	}
	return 0;
}

void entry_release(struct entry *e)
{
	if (e->up_fd >= 0)
		close(e->up_fd);
	e->up_fd = -1;
}

/* A copy-up's origin, trusted only while it names a lower object of the same type. */
static uint64_t origin_of(const struct server *s, const struct entry *e)
{
	uint64_t o = e->m.origin;
	if (!o || !view_has(&s->view, o) || (view_inode(&s->view, o)->mode & S_IFMT) != e->type)
		return 0;
	return o;
}

uint64_t entry_lower_key(const struct server *s, const struct entry *e)
{
	if (!e->upper)
		return e->lower;
	return origin_of(s, e);
}

uint64_t entry_st_ino(const struct server *s, const struct entry *e)
{
	uint64_t key = entry_lower_key(s, e);
	return key ? key : UPPER_INO_BASE + (uint64_t)e->st.st_ino;
}
