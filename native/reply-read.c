/* Replies to reads: after the request's callback, as slow work (loop.h), since a read may wait
 * for the disk. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "layer-file.h"
#include "loop.h"
#include "server.h"

/* Reads up to this size are copied through a buffer; larger ones are spliced. Measured on cold
 * reads: a 4 KiB pread + write answers faster than libfuse's three splices, while 1 MiB reads of
 * a 100 MiB file took 62 ms spliced against 77 ms copied. */
#define COPY_MAX LAYER_DIRECT_MAX

/* Small reads of files at least this large may go direct: such reads are random (the kernel
 * turns sequential ones into large reads), so reading the tar's page cache ahead wins nothing.
 * Smaller files stay buffered: reading ahead in the tar brings in the files stored next to them. */
#define DIRECT_FILE_MIN (1 << 20)

struct read_job {
	fuse_req_t req;
	int fd;
	off_t pos;
	size_t size;
	const struct layer_file *layer; /* when the read may go direct */
};

static void read_copied(const struct read_job *j)
{
	_Alignas(LAYER_DIRECT_ALIGN) char buf[COPY_MAX + 2 * LAYER_DIRECT_ALIGN];
	const char *out = buf;
	ssize_t n = -1;
	if (j->layer && layer_file_read_direct(j->layer, j->pos, j->size))
		n = layer_file_pread_direct(j->layer, buf, j->size, j->pos, &out);
	if (n < 0) { /* buffered, also when the filesystem refused the direct read */
		out = buf;
		n = pread(j->fd, buf, j->size, j->pos);
	}
	if (n < 0)
		fuse_reply_err(j->req, errno);
	else
		fuse_reply_buf(j->req, out, n);
}

static void read_spliced(const struct read_job *j)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(j->size);
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = j->fd;
	bv.buf[0].pos = j->pos;
	fuse_reply_data(j->req, &bv, FUSE_BUF_SPLICE_MOVE); /* replies with an error itself if the read fails */
}

static void read_now(void *arg)
{
	struct read_job *j = arg;
	if (j->size <= COPY_MAX)
		read_copied(j);
	else
		read_spliced(j);
	free(j);
}

static void queue_read(fuse_req_t req, int fd, off_t pos, size_t size, const struct layer_file *layer)
{
	struct read_job *j = malloc(sizeof *j);
	if (!j) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	*j = (struct read_job){ req, fd, pos, size, layer };
	loop_after(read_now, j);
}

void reply_read(fuse_req_t req, int fd, off_t pos, size_t size)
{
	queue_read(req, fd, pos, size, NULL);
}

void reply_lower_read(fuse_req_t req, const struct server *s, const struct view_inode *n, off_t off, size_t size)
{
	const struct layer_file *l = &s->layers[n->layer];
	if (off < 0 || (uint64_t)off >= n->size)
		fuse_reply_buf(req, NULL, 0);
	else
		queue_read(req, l->fd, n->data + off, size < n->size - off ? size : n->size - off,
			   n->size >= DIRECT_FILE_MIN ? l : NULL);
}
