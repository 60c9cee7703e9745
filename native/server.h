/* State shared by the ops of one mount server process. */
#ifndef LAMINA_SERVER_H
#define LAMINA_SERVER_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "layer-file.h"
#include "node.h"
#include "view.h"

struct server {
	struct view view;
	/* The layer tars, indexed like the view's layer table. */
	struct layer_file *layers;
	/* Seconds the kernel may cache entries, attributes and negative lookups of lower inodes. */
	double timeout;
	/* Written "ready\n" once the kernel's INIT is answered; -1 when nobody waits. */
	int ready_fd;
	int debug;
	/* What the kernel offered in INIT (FUSE_CAP_* bits). */
	unsigned caps;
	struct fuse_session *se;
	/* Writable mounts only: the upper root, <work>/lamina for temp entries, and the node table. */
	int upper_fd, work_fd;
	struct node_table *nodes;
	struct node *root;
};

/* Replies to a read with `size` bytes of `fd` at `pos`, deferred: it may wait for the disk. */
void reply_read(fuse_req_t req, int fd, off_t pos, size_t size);
/* The same from lower file `n`'s data in its layer tar, from `off` and at most to its end. */
void reply_lower_read(fuse_req_t req, const struct server *s, const struct view_inode *n, off_t off, size_t size);

/* The operations of a read-only image mount: everything answered from the view. */
extern const struct fuse_lowlevel_ops lower_ops;
/* The operations of a container mount: the view below, the upper directory on top. */
extern const struct fuse_lowlevel_ops overlay_ops;
/* Sets up the node table and the root of a writable mount; 0 or an errno. */
int overlay_open(struct server *s, const char *upper, const char *work);
/* Frees what overlay_open set up and every node left; once the session has ended. */
void overlay_close(struct server *s);

/* Tells whoever waits on ready_fd that the mount answers; called from init. */
void server_ready(struct server *s);

static inline struct server *server_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

#endif
