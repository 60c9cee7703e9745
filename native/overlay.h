/* Helpers shared by the ops of a writable mount (ovl-*.c). Each op is a small function that calls
 * a helper returning an errno and replies exactly once. */
#ifndef LAMINA_OVERLAY_H
#define LAMINA_OVERLAY_H

#include "copyup.h"
#include "entry.h"

/* An open regular file: the node, and an fd on its upper data (-1: reading the lower data). */
struct handle {
	struct node *node;
	int fd;
	/* A write went through: the file's kept ctime (if any) was dropped. */
	int wrote;
};

static inline struct node *node_of(struct server *s, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? s->root : (struct node *)(uintptr_t)ino;
}

static inline fuse_ino_t ino_of(struct server *s, struct node *n)
{
	return n == s->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

/* The user changed node `n` (held by `fd`): the host's ctime is the one to show again. */
static inline void node_changed(const struct node *n, int fd)
{
	if (!n->fresh)
		drop_kept_ctime(fd);
}

/* Name `name` of directory `dir` (held by `dir_fd`) was made, removed or renamed: the directory
 * changed, and if a lower subdirectory has that name its st_nlink is counted again. */
void dir_entry_changed(struct server *s, struct node *dir, int dir_fd, const char *name);
/* getattr's answer for `n`. */
int node_stat(struct server *s, struct node *n, struct stat *st);
/* The node for resolved entry `e` named `name` in `parent` (found or made, one lookup counted),
 * taking e's upper fd when the node needs it. */
int node_from_entry(struct server *s, struct node *parent, const char *name, struct entry *e, struct node **out);
/* Looks `name` up in `parent` and fills `ep` (a negative entry when absent); counts a lookup. */
int overlay_lookup(struct server *s, struct node *parent, const char *name, struct fuse_entry_param *ep);
/* An entry reply for node `n` (whose lookup is already counted). */
int entry_of_node(struct server *s, struct node *n, struct fuse_entry_param *ep);
/* The same from a stat of its upper entry taken just now. */
void entry_of_stat(struct server *s, struct node *n, const struct stat *st, struct fuse_entry_param *ep);
/* Resolves `name` in directory node `dir`, copying `dir` up first when `need_upper`. */
int resolve_in(struct server *s, struct node *dir, const char *name, int need_upper, struct cursor *c, struct entry *e);
/* Whether merged directory entry `e` (in cursor `c` as `name`) has no visible children. */
int dir_is_empty(struct server *s, const struct entry *e, int *empty);
/* Removes the whiteouts left inside upper directory `fd` (it is about to go). */
int clear_whiteouts(int fd);

/* Whether the caller of `req` is in group `gid` (its own or a supplementary one). */
int in_group(fuse_req_t req, gid_t gid);

/* A name of lower-only entry `e` went away: one fewer visible name for its hard-link group. */
void drop_lower_name(struct server *s, struct entry *e);

/* The ops, by file (ovl-*.c). */
void ovl_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void ovl_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ovl_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ovl_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi);
void ovl_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void ovl_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void ovl_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void ovl_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name);
void ovl_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void ovl_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void ovl_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname, unsigned flags);
/* Opens node `n` for `flags` into a new handle (copying it up for writes). */
int open_handle(struct server *s, struct node *n, int flags, uid_t caller, struct handle **out);

#endif
