/* The view file (docs/view-format.md): an image's merged lower view, mapped read-only.
 * view_load() checks the whole file once; after that every accessor may trust it. */
#ifndef LAMINA_VIEW_H
#define LAMINA_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the view file is little-endian; this reader maps it directly"
#endif

#define VIEW_VERSION 1
#define VIEW_NO_LAYER 0xffffffffu
#define VIEW_MAX_NAME 255
#define VIEW_MAX_XATTR 65536

struct view_header {
	char magic[8];
	uint32_t version, header_size;
	uint64_t file_size;
	uint32_t layer_count, flags;
	uint64_t inode_count, dirent_count;
	uint64_t layers_off, inodes_off, dirents_off;
	uint64_t names_off, names_size, xattrs_off, xattrs_size;
	uint64_t links_off, link_count, file_bytes;
};

struct view_layer {
	uint32_t path_off, path_len;
	uint64_t size;
};

struct view_inode {
	uint32_t mode, uid, gid, nlink;
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec, layer;
	uint64_t data, parent, xattr_off;
	uint32_t xattr_len, reserved0;
	uint64_t reserved1;
};

struct view_dirent {
	uint64_t ino;
	uint32_t name_off;
	uint16_t name_len;
	uint8_t type, reserved;
};

struct view_link {
	uint64_t parent, dirent;
};

struct view {
	const uint8_t *base;
	size_t size;
	int mapped;
	const struct view_header *h;
	const struct view_layer *layers;
	const struct view_inode *inodes;
	const struct view_dirent *dirents;
	const struct view_link *links;
	const uint8_t *names, *xattrs;
};

/* Checks `size` bytes at `buf` and points `v` at them; 0, or EINVAL with a reason in `err`. */
int view_load(struct view *v, const void *buf, size_t size, char *err, size_t errlen);
/* Maps the view file open on `fd` (read-only, shared) and loads it; 0 or an errno. */
int view_map(struct view *v, int fd, char *err, size_t errlen);
void view_unmap(struct view *v);

static inline int view_has(const struct view *v, uint64_t ino)
{
	return ino >= 1 && ino <= v->h->inode_count;
}

static inline const struct view_inode *view_inode(const struct view *v, uint64_t ino)
{
	return &v->inodes[ino - 1];
}

static inline int view_is_dir(const struct view *v, uint64_t ino)
{
	return S_ISDIR(view_inode(v, ino)->mode);
}

static inline const uint8_t *view_name(const struct view *v, uint64_t off)
{
	return v->names + off;
}

/* The inode of `name` in directory `dir`, or 0; binary search over the sorted dirents. */
uint64_t view_lookup(const struct view *v, uint64_t dir, const char *name, size_t len);
/* The inode at absolute `path` ("/a/b"; "/" is the root), following no symlinks; 0 when absent. */
uint64_t view_resolve(const struct view *v, const char *path);
/* The absolute path of `ino` (one of its names for a hard link) into `buf`; 0, ENAMETOOLONG or EIO. */
int view_path_of(const struct view *v, uint64_t ino, char *buf, size_t size);
/* The stat of inode `ino`, as getattr reports it. */
void view_stat(const struct view *v, uint64_t ino, struct stat *st);
/* Value of xattr `name` of `ino`: 0 with `*val`/`*len` set, or ENODATA. */
int view_getxattr(const struct view *v, uint64_t ino, const char *name, const uint8_t **val, size_t *len);
/* Writes "name\0" for each xattr into `buf` when it fits in `size`; returns the length needed. */
size_t view_listxattr(const struct view *v, uint64_t ino, char *buf, size_t size);

#endif
