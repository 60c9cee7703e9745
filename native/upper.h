/* The upper layer's on-disk format, as Linux overlayfs writes it: whiteouts are character devices
 * 0/0, opaque directories carry trusted.overlay.opaque=y, moved lower directories and renamed
 * metacopy files trusted.overlay.redirect=/absolute/lower/path, files whose data is still below
 * trusted.overlay.metacopy. lamina adds trusted.lamina.ino: the lower inode a copy came from. */
#ifndef LAMINA_UPPER_H
#define LAMINA_UPPER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define OVL_OPAQUE "trusted.overlay.opaque"
#define OVL_REDIRECT "trusted.overlay.redirect"
#define OVL_METACOPY "trusted.overlay.metacopy"
#define LAMINA_INO "trusted.lamina.ino"
#define REDIRECT_MAX 4096

/* "/proc/self/fd/N": how xattr and time calls reach an inode held by an O_PATH fd. */
void fd_path(int fd, char buf[32]);

static inline int is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == 0;
}

/* Names only lamina and overlayfs may set: hidden from listxattr, refused to setxattr. */
int is_internal_xattr(const char *name);

/* Which of our markers the entry held by `fd` carries (from one listxattr, values read only if present). */
struct markers {
	int opaque, metacopy;
	uint64_t origin;
	char redirect[REDIRECT_MAX];
};
int read_markers(int fd, struct markers *m);
/* The same for entry `name` of directory `dirfd`, without opening it (nor following it). */
int read_markers_at(int dirfd, const char *name, struct markers *m);

int set_xattr(int fd, const char *name, const void *val, size_t len);
int remove_xattr(int fd, const char *name);
int set_origin(int fd, uint64_t lower_ino);

/* Creates a whiteout `name` in `dirfd`. */
int make_whiteout(int dirfd, const char *name);
/* A fresh name for a temp entry in the work dir. */
void temp_name(char buf[64]);

#endif
