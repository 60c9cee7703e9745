#include "layer-file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096

/* The O_DIRECT twin of l->fd (whose stat is `st`), when the filesystem tells its alignment and it
 * is one we serve. */
static void open_direct(struct layer_file *l, int root, const char *rel, const struct stat *st)
{
	struct statx sx;
	struct stat d;
	if (statx(l->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) || !(sx.stx_mask & STATX_DIOALIGN) ||
	    !sx.stx_dio_offset_align || sx.stx_dio_offset_align > LAYER_DIRECT_ALIGN || sx.stx_dio_mem_align > LAYER_DIRECT_ALIGN)
		return;
	l->dio_fd = openat(root, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_DIRECT);
	if (l->dio_fd >= 0 && (fstat(l->dio_fd, &d) || d.st_dev != st->st_dev || d.st_ino != st->st_ino)) {
		close(l->dio_fd); /* replaced between the two opens: serve buffered only */
		l->dio_fd = -1;
	}
	if (l->dio_fd >= 0)
		l->dio_align = sx.stx_dio_offset_align;
}

int layer_file_open(struct layer_file *l, int root, const char *rel, uint64_t min_size, const char **why)
{
	struct stat st;
	*l = (struct layer_file){ .fd = openat(root, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), .dio_fd = -1 };
	if (l->fd < 0 || fstat(l->fd, &st)) {
		*why = NULL;
		return errno;
	}
	if ((uint64_t)st.st_size < min_size) {
		*why = "shorter than the view says";
		return EIO;
	}
	l->size = st.st_size;
	open_direct(l, root, rel, &st);
	if (l->dio_fd >= 0 && l->size) {
		void *m = mmap(NULL, l->size, PROT_READ, MAP_SHARED, l->fd, 0);
		l->map = m == MAP_FAILED ? NULL : m;
	}
	return 0;
}

void layer_file_close(struct layer_file *l)
{
	if (l->map)
		munmap((void *)l->map, l->size);
	if (l->dio_fd >= 0)
		close(l->dio_fd);
	if (l->fd >= 0)
		close(l->fd);
	*l = (struct layer_file){ .fd = -1, .dio_fd = -1 };
}

int layer_file_read_direct(const struct layer_file *l, off_t pos, size_t size)
{
	unsigned char vec[LAYER_DIRECT_MAX / PAGE + 2];
	uint64_t first = (uint64_t)pos & ~(uint64_t)(PAGE - 1);
	size_t pages = ((uint64_t)pos + size - first + PAGE - 1) / PAGE;
	if (!l->map || !size || size > LAYER_DIRECT_MAX || (uint64_t)pos + size > l->size)
		return 0;
	if (mincore((void *)(l->map + first), pages * PAGE, vec))
		return 0;
	for (size_t i = 0; i < pages; i++)
		if (!(vec[i] & 1))
			return 1;
	return 0;
}

ssize_t layer_file_pread_direct(const struct layer_file *l, char *buf, size_t size, off_t pos, const char **out)
{
	off_t start = pos & ~(off_t)(l->dio_align - 1);
	size_t len = ((size_t)(pos - start) + size + l->dio_align - 1) & ~(size_t)(l->dio_align - 1);
	ssize_t n = pread(l->dio_fd, buf, len, start);
	if (n < 0)
		return -1;
	*out = buf + (pos - start);
	n -= pos - start; /* short at the end of the tar */
	return n < 0 ? 0 : n > (ssize_t)size ? (ssize_t)size : n;
}
