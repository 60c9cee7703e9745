#include "node-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens n's upper entry through its parent, O_PATH, and checks it is still the same inode. */
static int reopen(struct server *s, struct node *n, int *fd)
{
	struct node *parent;
	struct stat st;
	char name[256];
	int pfd, err = node_location(s->nodes, n, &parent, name);
	if (err)
		return ESTALE;
	pthread_mutex_lock(&parent->lock);
	pfd = parent->upper_fd;
	pthread_mutex_unlock(&parent->lock);
	*fd = pfd < 0 ? -1 : openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		err = errno == ENOENT || pfd < 0 ? ESTALE : errno;
	else if (fstat(*fd, &st) || st.st_ino != n->up_ino || st.st_dev != n->up_dev)
		err = ESTALE; /* the name now holds something else: the node's own name went unseen */
	if (err && *fd >= 0)
		close(*fd);
	node_release(s->nodes, parent);
	return err;
}

/* With n locked: take its fd if it has one (one more user). */
static int take_own(struct node *n, int *fd)
{
	if (n->upper_fd < 0)
		return 0;
	n->fd_users++;
	*fd = n->upper_fd;
	return 1;
}

/* With n locked: keep a reopened fd in the node (or use the one another thread kept meanwhile). */
static int keep_reopened(struct node *n, int *fd)
{
	if (take_own(n, fd + 1)) {
		close(*fd);
		*fd = fd[1];
		return 0;
	}
	n->upper_fd = *fd;
	n->fd_users++;
	n->fd_cached = 1;
	return 1;
}

static int get(struct server *s, struct node *n, int *fd, int held)
{
	int fds[2], cached, err;
	if (!held)
		pthread_mutex_lock(&n->lock);
	cached = take_own(n, fd) ? n->fd_cached : -1;
	if (!held)
		pthread_mutex_unlock(&n->lock);
	if (cached == 1)
		fd_cache_touch(s->nodes, n);
	if (cached >= 0)
		return 0;
	if ((err = reopen(s, n, fds)))
		return err;
	*fd = fds[0];
	if (held) /* a holder of n->lock gets a temporary fd: adding to the cache may lock other nodes */
		return 0;
	pthread_mutex_lock(&n->lock);
	cached = keep_reopened(n, fds);
	pthread_mutex_unlock(&n->lock);
	if (cached)
		fd_cache_add(s->nodes, n);
	*fd = fds[0];
	return 0;
}

int node_fd_get(struct server *s, struct node *n, int *fd)
{
	return get(s, n, fd, 0);
}

int node_fd_get_held(struct server *s, struct node *n, int *fd)
{
	return get(s, n, fd, 1);
}

void node_fd_put_held(struct node *n, int fd)
{
	if (fd == n->upper_fd && n->fd_users > 0)
		n->fd_users--;
	else if (fd >= 0)
		close(fd);
}

void node_fd_put(struct node *n, int fd)
{
	pthread_mutex_lock(&n->lock);
	node_fd_put_held(n, fd);
	pthread_mutex_unlock(&n->lock);
}

void node_pin(struct server *s, struct node *n)
{
	int fd;
	if (!n->upper || S_ISDIR(n->type) || node_fd_get(s, n, &fd))
		return;
	pthread_mutex_lock(&n->lock);
	n->pinned = 1;
	node_fd_put_held(n, fd);
	pthread_mutex_unlock(&n->lock);
	fd_cache_remove(s->nodes, n);
}

void pin_upper(struct server *s, dev_t dev, ino_t ino)
{
	struct node *n = node_find(s->nodes, dev, ino, 0);
	if (!n)
		return;
	node_pin(s, n);
	node_forget(s->nodes, n, 1);
}
