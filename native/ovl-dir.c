/* Directories of a writable mount: the merged listing (upper names without whiteouts, then the
 * lower names nobody hides), taken when the directory is opened and again on rewind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay.h"

struct dirlist {
	char **names;
	size_t count, cap;
};

struct dirhandle {
	struct dirlist list;
};

static int list_add(struct dirlist *l, const char *name, size_t len)
{
	char *copy;
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **names = realloc(l->names, cap * sizeof *names);
		if (!names)
			return ENOMEM;
		l->names = names;
		l->cap = cap;
	}
	if (!(copy = strndup(name, len)))
		return ENOMEM;
	l->names[l->count++] = copy;
	return 0;
}

static void list_free(struct dirlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->names[i]);
	free(l->names);
	memset(l, 0, sizeof *l);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Upper names into `shown`, whiteouts into `hidden`. */
static int read_upper(int dirfd, struct dirlist *shown, struct dirlist *hidden)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	struct stat st;
	if (!d) {
		err = errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	while (!err && (errno = 0, de = readdir(d))) {
		int wh = 0;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((de->d_type == DT_CHR || de->d_type == DT_UNKNOWN) && !fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			wh = is_whiteout(&st);
		err = list_add(wh ? hidden : shown, de->d_name, strlen(de->d_name));
	}
	if (!err && errno)
		err = errno;
	closedir(d);
	return err;
}

/* Whether `name` is in sorted list `l`. */
static int listed(const struct dirlist *l, const char *name)
{
	return l->count && bsearch(&name, l->names, l->count, sizeof *l->names, cmp_names);
}

/* The merged listing of directory (up_fd, lower_dir). */
static int build_list(struct server *s, int up_fd, uint64_t lower_dir, struct dirlist *out)
{
	struct dirlist hidden = { 0 };
	size_t upper_count;
	int err = up_fd >= 0 ? read_upper(up_fd, out, &hidden) : 0;
	upper_count = out->count;
	if (!err && lower_dir) {
		const struct view_inode *d = view_inode(&s->view, lower_dir);
		struct dirlist seen = { .names = out->names, .count = upper_count };
		if (upper_count)
			qsort(out->names, upper_count, sizeof *out->names, cmp_names);
		if (hidden.count)
			qsort(hidden.names, hidden.count, sizeof *hidden.names, cmp_names);
		for (uint64_t i = 0; i < d->size && !err; i++) {
			const struct view_dirent *e = &s->view.dirents[d->data + i];
			char name[VIEW_MAX_NAME + 1];
			memcpy(name, view_name(&s->view, e->name_off), e->name_len);
			name[e->name_len] = 0;
			seen.names = out->names; /* the array may have moved */
			if (!listed(&seen, name) && !listed(&hidden, name))
				err = list_add(out, name, e->name_len);
		}
	}
	list_free(&hidden);
	if (err)
		list_free(out);
	return err;
}

static int node_list(struct server *s, struct node *n, struct dirlist *out)
{
	struct cursor c;
	int err = dir_cursor(s, n, 0, &c);
	return err ? err : build_list(s, c.up_fd, c.lower_dir, out);
}

int dir_is_empty(struct server *s, const struct entry *e, int *empty)
{
	struct dirlist l = { 0 };
	int err = build_list(s, e->up_fd, e->lower, &l);
	*empty = !err && l.count == 0;
	list_free(&l);
	return err;
}

int clear_whiteouts(int fd)
{
	struct dirlist shown = { 0 }, hidden = { 0 };
	int err = read_upper(fd, &shown, &hidden);
	for (size_t i = 0; !err && i < hidden.count; i++)
		if (unlinkat(fd, hidden.names[i], 0))
			err = errno;
	if (!err && shown.count)
		err = ENOTEMPTY;
	list_free(&shown);
	list_free(&hidden);
	return err;
}

void ovl_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct server *s = server_of(req);
	struct dirhandle *h = calloc(1, sizeof *h);
	int err = h ? node_list(s, node_of(s, ino), &h->list) : ENOMEM;
	if (err) {
		free(h);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)h;
	fi->cache_readdir = 1; /* the kernel drops it when this directory changes through the mount */
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		list_free(&h->list);
		free(h);
	}
}

void ovl_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirhandle *h = (struct dirhandle *)(uintptr_t)fi->fh;
	(void)ino;
	list_free(&h->list);
	free(h);
	fuse_reply_err(req, 0);
}

/* Adds entry `i` ("." and ".." first) to `buf` if it fits; a child is looked up (and counted)
 * only once it is sure to fit. Returns the bytes used, 0 when full, or -errno. */
static ssize_t add_entry(fuse_req_t req, struct server *s, struct node *dir, struct dirhandle *h, size_t i, char *buf, size_t room)
{
	const char *name = i == 0 ? "." : i == 1 ? ".." : h->list.names[i - 2];
	struct fuse_entry_param ep;
	size_t need = fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0);
	int err;
	if (need > room)
		return 0;
	memset(&ep, 0, sizeof ep);
	if (i < 2) {
		struct node *n = i == 0 || dir == s->root ? dir : dir->parent;
		ep.attr.st_ino = n ? n->st_ino : 1;
		ep.attr.st_mode = S_IFDIR;
	} else if ((err = overlay_lookup(s, dir, name, &ep))) {
		return -err;
	} else if (!ep.ino) {
		return -ENOENT; /* removed since opendir: left out */
	}
	return fuse_add_direntry_plus(req, buf, room, name, &ep, i + 1);
}

void ovl_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct server *s = server_of(req);
	struct node *dir = node_of(s, ino);
	struct dirhandle *h = (struct dirhandle *)(uintptr_t)fi->fh;
	char buf[65536];
	size_t used = 0;
	int err = 0;
	if (size > sizeof buf)
		size = sizeof buf;
	if (off == 0) { /* a rewind sees the directory as it is now */
		list_free(&h->list);
		err = node_list(s, dir, &h->list);
	}
	for (size_t i = off; !err && i < h->list.count + 2; i++) {
		ssize_t n = add_entry(req, s, dir, h, i, buf + used, size - used);
		if (n == 0)
			break;
		if (n < 0 && n != -ENOENT)
			err = -n;
		else if (n > 0)
			used += n;
	}
	if (err && !used)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, used);
}
