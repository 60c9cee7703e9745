#include "links.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "copyup.h"

/* A cursor that may own its fd. */
struct walker {
	struct cursor c;
	int owned;
};

static void walker_step(struct walker *w, int fd, uint64_t lower)
{
	if (w->owned && w->c.up_fd >= 0)
		close(w->c.up_fd);
	w->c.up_fd = fd;
	w->c.lower_dir = lower;
	w->owned = fd >= 0;
}

/* Walks absolute path `path` through the merged view from the root up to its last component,
 * copying lower-only directories on the way up when `create`; resolves the last into *e. */
static int walk(struct server *s, const char *path, int create, struct walker *w, struct entry *e)
{
	char comp[256];
	const char *p = path;
	int err = 0;
	w->c.up_fd = s->root->upper_fd;
	w->c.lower_dir = s->root->lower_dir;
	w->owned = 0;
	for (;;) {
		const char *end;
		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		if (end - p == 0 || end - p > 255)
			return EINVAL;
		snprintf(comp, sizeof comp, "%.*s", (int)(end - p), p);
		if ((err = resolve_entry(s, &w->c, comp, e)))
			return err;
		if (!*end)
			return 0;
		if (!e->exists || !S_ISDIR(e->type)) {
			entry_release(e);
			return ENOENT;
		}
		if (!e->upper && create && w->c.up_fd >= 0)
			err = copy_lower_into(s, e->lower, COPY_META, w->c.up_fd, comp, &e->up_fd);
		if (err)
			return err;
		walker_step(w, e->up_fd, e->lower);
		e->up_fd = -1;
		p = end;
	}
}

static void walker_done(struct walker *w)
{
	walker_step(w, -1, 0);
}

/* The absolute lower path of link `i` of group `ino`. */
static int alias_path(const struct view *v, uint64_t ino, uint32_t i, char *buf, size_t size)
{
	const struct view_link *l = &v->links[view_inode(v, ino)->parent + i];
	const struct view_dirent *d = &v->dirents[l->dirent];
	size_t at;
	int err = view_path_of(v, l->parent, buf, size);
	if (err)
		return err;
	at = strlen(buf);
	if (at > 1)
		buf[at++] = '/';
	if (at + d->name_len + 1 > size)
		return ENAMETOOLONG;
	memcpy(buf + at, view_name(v, d->name_off), d->name_len);
	buf[at + d->name_len] = 0;
	return 0;
}

/* Whether the merged view shows lower file `ino` itself at `path`. */
static int still_lower(struct server *s, const char *path, uint64_t ino)
{
	struct walker w;
	struct entry e;
	int shown = !walk(s, path, 0, &w, &e) && e.exists && !e.upper && e.lower == ino;
	entry_release(&e);
	walker_done(&w);
	return shown;
}

uint32_t visible_links(struct server *s, uint64_t ino)
{
	char path[4096];
	uint32_t count = 0, n = view_inode(&s->view, ino)->nlink;
	for (uint32_t i = 0; i < n && n > 1; i++)
		if (!alias_path(&s->view, ino, i, path, sizeof path) && still_lower(s, path, ino))
			count++;
	return n > 1 ? count : n;
}

void link_aliases(struct server *s, uint64_t ino, int fd)
{
	char path[4096], src[32];
	uint32_t count = view_inode(&s->view, ino)->nlink;
	fd_path(fd, src);
	for (uint32_t i = 0; i < count; i++) {
		struct walker w;
		struct entry e;
		const char *last;
		if (alias_path(&s->view, ino, i, path, sizeof path) || !still_lower(s, path, ino))
			continue;
		if (!walk(s, path, 1, &w, &e) && e.exists && !e.upper && w.c.up_fd >= 0) {
			struct stat dir;
			last = strrchr(path, '/') + 1;
			fstat(w.c.up_fd, &dir);
			if (linkat(AT_FDCWD, src, w.c.up_fd, last, AT_SYMLINK_FOLLOW))
				fprintf(stderr, "lamina-mountd: linking %s to its copied-up group: %s\n", path, strerror(errno));
			futimens(w.c.up_fd, (struct timespec[2]){ dir.st_atim, dir.st_mtim });
		}
		entry_release(&e);
		walker_done(&w);
	}
}
