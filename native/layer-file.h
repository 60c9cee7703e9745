/* A stored layer tar, opened for serving file data: buffered for copy-ups, large reads and data
 * already in the page cache; with O_DIRECT for cold small reads of large files. */
#ifndef LAMINA_LAYER_FILE_H
#define LAMINA_LAYER_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads of up to this size may go direct (reply-read.c copies them through a buffer). */
#define LAYER_DIRECT_MAX (32 * 1024)
/* The largest O_DIRECT offset alignment served; with a larger one reads stay buffered. */
#define LAYER_DIRECT_ALIGN 4096

struct layer_file {
	int fd;
	int dio_fd;            /* the same file with O_DIRECT, or -1 where the filesystem has none */
	unsigned dio_align;    /* O_DIRECT offset alignment (tar data is 512-aligned) */
	const unsigned char *map; /* a mapping that is never touched: mincore() asks it what is cached */
	uint64_t size;
};

/* Opens `rel` under directory `root`, which must be at least `min_size` bytes; 0 or an errno,
 * with the reason in `why`. */
int layer_file_open(struct layer_file *l, int root, const char *rel, uint64_t min_size, const char **why);
void layer_file_close(struct layer_file *l);
/* Whether a read of `size` bytes at `pos` should go around the page cache: it can, and some of
 * those bytes are not cached. */
int layer_file_read_direct(const struct layer_file *l, off_t pos, size_t size);
/* Reads `size` bytes at `pos` with O_DIRECT into `buf` (LAYER_DIRECT_ALIGN-aligned, at least
 * LAYER_DIRECT_MAX + 2 * LAYER_DIRECT_ALIGN bytes); the bytes start at *out. A count or -1. */
ssize_t layer_file_pread_direct(const struct layer_file *l, char *buf, size_t size, off_t pos, const char **out);

#endif
