/* Handing slow requests to the worker pool. */
#include <errno.h>
#include <stdlib.h>

#include "pool.h"
#include "server.h"

void defer(struct server *s, void (*fn)(void *), void *arg)
{
	if (!s->pool || pool_submit(s->pool, fn, arg))
		fn(arg);
}

struct read_job {
	fuse_req_t req;
	int fd;
	off_t pos;
	size_t size;
};

static void read_now(void *arg)
{
	struct read_job *j = arg;
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(j->size);
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = j->fd;
	bv.buf[0].pos = j->pos;
	fuse_reply_data(j->req, &bv, FUSE_BUF_SPLICE_MOVE); /* replies with an error itself if the read fails */
	free(j);
}

void reply_read(struct server *s, fuse_req_t req, int fd, off_t pos, size_t size)
{
	struct read_job *j = malloc(sizeof *j);
	if (!j) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	*j = (struct read_job){ req, fd, pos, size };
	defer(s, read_now, j); /* a read may wait for the disk: never on the thread that reads /dev/fuse */
}
