/* Loading and reading the view file (docs/view-format.md). All checks happen in view_load(),
 * once, so that lookups on the request path can index the tables without bounds checks. */
#include "view.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

_Static_assert(sizeof(struct view_header) == 128, "view header layout");
_Static_assert(sizeof(struct view_layer) == 16, "view layer layout");
_Static_assert(sizeof(struct view_inode) == 80, "view inode layout");
_Static_assert(sizeof(struct view_dirent) == 16, "view dirent layout");
_Static_assert(sizeof(struct view_link) == 16, "view link layout");

static const char MAGIC[8] = { 'L', 'A', 'M', 'V', 'I', 'E', 'W', '\n' };

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return EINVAL;
}

/* A section of `count` records of `rec` bytes at `off` lies inside the file, after the header. */
static int section_ok(const struct view *v, uint64_t off, uint64_t count, uint64_t rec)
{
	if (off % 8 || off < sizeof(struct view_header) || off > v->size)
		return 0;
	return count <= (v->size - off) / rec;
}

static int check_header(struct view *v, char *err, size_t errlen)
{
	const struct view_header *h = v->h;
	if (v->size < sizeof *h || memcmp(h->magic, MAGIC, sizeof MAGIC))
		return fail(err, errlen, "not a view file (bad magic)");
	if (h->version != VIEW_VERSION)
		return fail(err, errlen, "version %u, expected %u", h->version, VIEW_VERSION);
	if (h->header_size != sizeof *h || h->flags)
		return fail(err, errlen, "unknown header size or flags");
	if (h->file_size != v->size)
		return fail(err, errlen, "file size %zu, header says %llu", v->size, (unsigned long long)h->file_size);
	if (h->inode_count < 1)
		return fail(err, errlen, "no root inode");
	if (!section_ok(v, h->layers_off, h->layer_count, sizeof(struct view_layer)) ||
	    !section_ok(v, h->inodes_off, h->inode_count, sizeof(struct view_inode)) ||
	    !section_ok(v, h->dirents_off, h->dirent_count, sizeof(struct view_dirent)) ||
	    !section_ok(v, h->links_off, h->link_count, sizeof(struct view_link)) ||
	    !section_ok(v, h->names_off, h->names_size, 1) ||
	    !section_ok(v, h->xattrs_off, h->xattrs_size, 1))
		return fail(err, errlen, "a section is out of bounds");
	return 0;
}

static int name_ok(const struct view *v, uint64_t off, uint64_t len)
{
	return off <= v->h->names_size && len <= v->h->names_size - off;
}

static int check_layers(const struct view *v, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < v->h->layer_count; i++) {
		const struct view_layer *l = &v->layers[i];
		const uint8_t *p = view_name(v, l->path_off);
		if (!l->path_len || !name_ok(v, l->path_off, l->path_len))
			return fail(err, errlen, "layer %u path outside the name pool", i);
		if (p[0] == '/' || memchr(p, 0, l->path_len) || memmem(p, l->path_len, "..", 2))
			return fail(err, errlen, "layer %u path leaves the store", i);
	}
	return 0;
}

static int dtype_of(uint32_t mode)
{
	return (mode & S_IFMT) >> 12;
}

static int mode_ok(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR: case S_IFBLK: case S_IFIFO:
		return (mode & ~(uint32_t)(S_IFMT | 07777)) == 0;
	}
	return 0;
}

static int valid_name(const uint8_t *p, size_t len)
{
	if (len == 0 || len > VIEW_MAX_NAME || memchr(p, 0, len) || memchr(p, '/', len))
		return 0;
	return !(p[0] == '.' && (len == 1 || (len == 2 && p[1] == '.')));
}

static int name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	return c ? c : (alen > blen) - (alen < blen);
}

/* One directory's dirents: in range, named well, sorted, each subdirectory listed once. */
static int check_dir(const struct view *v, uint64_t ino, uint8_t *listed, char *err, size_t errlen)
{
	const struct view_inode *d = view_inode(v, ino);
	if (!view_has(v, d->parent) || !view_is_dir(v, d->parent) || (ino == 1 && d->parent != 1))
		return fail(err, errlen, "directory %llu has parent %llu", (unsigned long long)ino, (unsigned long long)d->parent);
	if (d->data > v->h->dirent_count || d->size > v->h->dirent_count - d->data)
		return fail(err, errlen, "directory %llu dirents out of range", (unsigned long long)ino);
	for (uint64_t i = 0; i < d->size; i++) {
		const struct view_dirent *e = &v->dirents[d->data + i];
		if (!name_ok(v, e->name_off, e->name_len) || !valid_name(view_name(v, e->name_off), e->name_len))
			return fail(err, errlen, "directory %llu has a bad name", (unsigned long long)ino);
		if (i && name_cmp(view_name(v, e[-1].name_off), e[-1].name_len, view_name(v, e->name_off), e->name_len) >= 0)
			return fail(err, errlen, "directory %llu is not sorted", (unsigned long long)ino);
		if (!view_has(v, e->ino) || e->ino == 1 || e->type != dtype_of(view_inode(v, e->ino)->mode))
			return fail(err, errlen, "directory %llu names inode %llu wrongly", (unsigned long long)ino, (unsigned long long)e->ino);
		if (!view_is_dir(v, e->ino))
			continue;
		if (view_inode(v, e->ino)->parent != ino || e->ino == ino || listed[(e->ino - 1) / 8] & (1 << ((e->ino - 1) % 8)))
			return fail(err, errlen, "directory %llu is not a tree below %llu", (unsigned long long)e->ino, (unsigned long long)ino);
		listed[(e->ino - 1) / 8] |= 1 << ((e->ino - 1) % 8);
	}
	return 0;
}

/* Every name of a file with several links points back at it from inside its parent's dirents. */
static int check_links(const struct view *v, uint64_t ino, char *err, size_t errlen)
{
	const struct view_inode *f = view_inode(v, ino);
	if (f->parent > v->h->link_count || f->nlink > v->h->link_count - f->parent)
		return fail(err, errlen, "inode %llu links out of range", (unsigned long long)ino);
	for (uint32_t i = 0; i < f->nlink; i++) {
		const struct view_link *l = &v->links[f->parent + i];
		const struct view_inode *p = view_has(v, l->parent) ? view_inode(v, l->parent) : NULL;
		if (!p || !S_ISDIR(p->mode) || l->dirent < p->data || l->dirent - p->data >= p->size ||
		    v->dirents[l->dirent].ino != ino)
			return fail(err, errlen, "inode %llu link %u does not name it", (unsigned long long)ino, i);
	}
	return 0;
}

static int check_xattrs(const struct view *v, uint64_t ino, char *err, size_t errlen)
{
	const struct view_inode *n = view_inode(v, ino);
	if (n->xattr_off > v->h->xattrs_size || n->xattr_len > v->h->xattrs_size - n->xattr_off)
		return fail(err, errlen, "inode %llu xattrs outside the pool", (unsigned long long)ino);
	for (uint64_t at = 0; at < n->xattr_len;) {
		uint16_t nlen;
		uint32_t vlen;
		const uint8_t *r = v->xattrs + n->xattr_off + at;
		if (n->xattr_len - at < 8)
			return fail(err, errlen, "inode %llu xattr record truncated", (unsigned long long)ino);
		memcpy(&nlen, r, 2);
		memcpy(&vlen, r + 4, 4);
		if (!nlen || vlen > VIEW_MAX_XATTR || 8 + (uint64_t)nlen + vlen > n->xattr_len - at || memchr(r + 8, 0, nlen))
			return fail(err, errlen, "inode %llu xattr record bad", (unsigned long long)ino);
		at += 8 + (uint64_t)nlen + vlen;
	}
	return 0;
}

static int check_inode(const struct view *v, uint64_t ino, uint8_t *listed, char *err, size_t errlen)
{
	const struct view_inode *n = view_inode(v, ino);
	int e = 0;
	if (n->mtime_nsec >= 1000000000u)
		return fail(err, errlen, "inode %llu mtime nanoseconds %u", (unsigned long long)ino, n->mtime_nsec);
	if (n->xattr_len && (e = check_xattrs(v, ino, err, errlen)))
		return e;
	if (S_ISDIR(n->mode))
		return check_dir(v, ino, listed, err, errlen);
	if (n->nlink > 1 && (e = check_links(v, ino, err, errlen)))
		return e;
	if (n->nlink <= 1 && (!view_has(v, n->parent) || !view_is_dir(v, n->parent)))
		return fail(err, errlen, "inode %llu has parent %llu", (unsigned long long)ino, (unsigned long long)n->parent);
	if (S_ISLNK(n->mode) && (!name_ok(v, n->data, n->size) || memchr(view_name(v, n->data), 0, n->size)))
		return fail(err, errlen, "inode %llu symlink target bad", (unsigned long long)ino);
	if (S_ISREG(n->mode) && (n->layer >= v->h->layer_count || n->data > v->layers[n->layer].size ||
	    n->size > v->layers[n->layer].size - n->data))
		return fail(err, errlen, "inode %llu data runs past its layer", (unsigned long long)ino);
	return 0;
}

static int check_inodes(const struct view *v, char *err, size_t errlen)
{
	uint64_t count = v->h->inode_count;
	uint8_t *listed;
	int e = 0;
	for (uint64_t ino = 1; ino <= count; ino++)
		if (!mode_ok(view_inode(v, ino)->mode))
			return fail(err, errlen, "inode %llu has mode %o", (unsigned long long)ino, view_inode(v, ino)->mode);
	if (!view_is_dir(v, 1))
		return fail(err, errlen, "the root is not a directory");
	listed = calloc(count / 8 + 1, 1);
	if (!listed)
		return ENOMEM;
	for (uint64_t ino = 1; ino <= count && !e; ino++)
		e = check_inode(v, ino, listed, err, errlen);
	free(listed);
	return e;
}

int view_load(struct view *v, const void *buf, size_t size, char *err, size_t errlen)
{
	int e;
	memset(v, 0, sizeof *v);
	v->base = buf;
	v->size = size;
	v->h = buf;
	if ((e = check_header(v, err, errlen)))
		return e;
	v->layers = (const void *)(v->base + v->h->layers_off);
	v->inodes = (const void *)(v->base + v->h->inodes_off);
	v->dirents = (const void *)(v->base + v->h->dirents_off);
	v->links = (const void *)(v->base + v->h->links_off);
	v->names = v->base + v->h->names_off;
	v->xattrs = v->base + v->h->xattrs_off;
	if ((e = check_layers(v, err, errlen)) || (e = check_inodes(v, err, errlen)))
		return e;
	return 0;
}

int view_map(struct view *v, int fd, char *err, size_t errlen)
{
	struct stat st;
	void *p;
	int e;
	if (fstat(fd, &st))
		return errno;
	if (st.st_size < (off_t)sizeof(struct view_header))
		return fail(err, errlen, "not a view file (%lld bytes)", (long long)st.st_size);
	p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return errno;
	if ((e = view_load(v, p, st.st_size, err, errlen))) {
		munmap(p, st.st_size);
		return e;
	}
	v->mapped = 1;
	return 0;
}

void view_unmap(struct view *v)
{
	if (v->mapped)
		munmap((void *)v->base, v->size);
	v->mapped = 0;
}

uint64_t view_lookup(const struct view *v, uint64_t dir, const char *name, size_t len)
{
	const struct view_inode *d = view_inode(v, dir);
	size_t lo = 0, hi;
	if (!S_ISDIR(d->mode))
		return 0;
	hi = d->size;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct view_dirent *e = &v->dirents[d->data + mid];
		int c = name_cmp(view_name(v, e->name_off), e->name_len, (const uint8_t *)name, len);
		if (!c)
			return e->ino;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void view_stat(const struct view *v, uint64_t ino, struct stat *st)
{
	const struct view_inode *n = view_inode(v, ino);
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_mode = n->mode;
	st->st_nlink = n->nlink;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_size = S_ISDIR(n->mode) ? 0 : (off_t)n->size;
	st->st_blksize = 4096;
	st->st_blocks = S_ISREG(n->mode) ? (blkcnt_t)((n->size + 511) / 512) : 0;
	if (S_ISCHR(n->mode) || S_ISBLK(n->mode))
		st->st_rdev = n->data;
	st->st_mtim.tv_sec = st->st_atim.tv_sec = st->st_ctim.tv_sec = n->mtime_sec;
	st->st_mtim.tv_nsec = st->st_atim.tv_nsec = st->st_ctim.tv_nsec = n->mtime_nsec;
}

/* Calls `fn` for each xattr record of `ino` until it returns non-zero; returns that value. */
static int each_xattr(const struct view *v, uint64_t ino, int (*fn)(const uint8_t *, size_t, const uint8_t *, size_t, void *), void *arg)
{
	const struct view_inode *n = view_inode(v, ino);
	for (uint64_t at = 0; at < n->xattr_len;) {
		const uint8_t *r = v->xattrs + n->xattr_off + at;
		uint16_t nlen;
		uint32_t vlen;
		int stop;
		memcpy(&nlen, r, 2);
		memcpy(&vlen, r + 4, 4);
		if ((stop = fn(r + 8, nlen, r + 8 + nlen, vlen, arg)))
			return stop;
		at += 8 + (uint64_t)nlen + vlen;
	}
	return 0;
}

struct xattr_find {
	const char *name;
	size_t len;
	const uint8_t *val;
	size_t vlen;
};

static int find_one(const uint8_t *name, size_t nlen, const uint8_t *val, size_t vlen, void *arg)
{
	struct xattr_find *f = arg;
	if (nlen != f->len || memcmp(name, f->name, nlen))
		return 0;
	f->val = val;
	f->vlen = vlen;
	return 1;
}

int view_getxattr(const struct view *v, uint64_t ino, const char *name, const uint8_t **val, size_t *len)
{
	struct xattr_find f = { .name = name, .len = strlen(name) };
	if (!each_xattr(v, ino, find_one, &f))
		return ENODATA;
	*val = f.val;
	*len = f.vlen;
	return 0;
}

struct xattr_list {
	char *buf;
	size_t size, need;
};

static int list_one(const uint8_t *name, size_t nlen, const uint8_t *val, size_t vlen, void *arg)
{
	struct xattr_list *l = arg;
	(void)val;
	(void)vlen;
	if (l->need + nlen + 1 <= l->size) {
		memcpy(l->buf + l->need, name, nlen);
		l->buf[l->need + nlen] = 0;
	}
	l->need += nlen + 1;
	return 0;
}

size_t view_listxattr(const struct view *v, uint64_t ino, char *buf, size_t size)
{
	struct xattr_list l = { .buf = buf, .size = size };
	each_xattr(v, ino, list_one, &l);
	return l.need;
}

uint64_t view_resolve(const struct view *v, const char *path)
{
	uint64_t ino = 1;
	while (ino && *path) {
		const char *end;
		while (*path == '/')
			path++;
		if (!*path)
			break;
		end = strchrnul(path, '/');
		ino = view_lookup(v, ino, path, end - path);
		path = end;
	}
	return ino;
}

/* The dirent of `child` in directory `dir`, found by a scan (names are sorted, inodes are not). */
static const struct view_dirent *dirent_of(const struct view *v, uint64_t dir, uint64_t child)
{
	const struct view_inode *d = view_inode(v, dir);
	for (uint64_t i = 0; i < d->size; i++)
		if (v->dirents[d->data + i].ino == child)
			return &v->dirents[d->data + i];
	return NULL;
}

int view_path_of(const struct view *v, uint64_t ino, char *buf, size_t size)
{
	char tmp[4096];
	size_t at = sizeof tmp;
	if (size < 2 || !view_has(v, ino))
		return EIO;
	tmp[--at] = 0;
	for (int depth = 0; ino != 1; depth++) {
		const struct view_inode *n = view_inode(v, ino);
		uint64_t parent = n->parent;
		const struct view_dirent *e;
		if (!S_ISDIR(n->mode) && n->nlink > 1) {
			const struct view_link *l = &v->links[n->parent];
			parent = l->parent;
			e = &v->dirents[l->dirent];
		} else {
			e = view_has(v, parent) && view_is_dir(v, parent) ? dirent_of(v, parent, ino) : NULL;
		}
		if (!e || depth > 4096)
			return EIO;
		if ((size_t)e->name_len + 1 > at)
			return ENAMETOOLONG;
		at -= e->name_len;
		memcpy(tmp + at, view_name(v, e->name_off), e->name_len);
		tmp[--at] = '/';
		ino = parent;
	}
	if (at == sizeof tmp - 1)
		tmp[--at] = '/';
	if (sizeof tmp - at > size)
		return ENAMETOOLONG;
	memcpy(buf, tmp + at, sizeof tmp - at);
	return 0;
}
