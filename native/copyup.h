/* Copy-up: giving a lower node an upper entry before it changes. The copy is built under a temp
 * name in the work dir (data, owner, mode, times, xattrs, markers) and renamed into place, so a
 * crash leaves the lower entry or the whole copy, never half of one. */
#ifndef LAMINA_COPYUP_H
#define LAMINA_COPYUP_H

#include "entry.h"

enum copy_kind {
	COPY_META,  /* metadata only: a file becomes metacopy (its data stays below) */
	COPY_DATA,  /* everything, data included (a write) */
	COPY_EMPTY, /* metadata and an empty file (open with O_TRUNC, truncate to 0) */
};

/* Makes sure `n` (and first its parents) has an upper entry with at least `kind` of its data. */
int copy_up(struct server *s, struct node *n, enum copy_kind kind);
/* Whether copy_up(n, kind) would copy file data (worth a worker thread). */
int copy_is_slow(struct server *s, struct node *n, enum copy_kind kind);
/* The merged directory `dir` as a parent for resolve_entry; with `need_upper`, copied up first. */
int dir_cursor(struct server *s, struct node *dir, int need_upper, struct cursor *c);
/* Copies lower object `ino` into directory `dirfd` as `name` (temp, attributes, rename); an
 * existing directory there is adopted. The new entry's fd (directory fd or O_PATH) goes to *fd. */
int copy_lower_into(struct server *s, uint64_t ino, enum copy_kind kind, int dirfd, const char *name, int *fd);
/* Gives the entry held by `fd` the owner, mode, xattrs, origin and times of lower object `ino`
 * (and the metacopy marker for COPY_META of a file). */
int copy_attrs(struct server *s, uint64_t ino, int fd, enum copy_kind kind);
/* Copies `len` bytes of lower file `ino` to `fd` at offset 0, leaving all-zero blocks as holes. */
int copy_lower_data(struct server *s, uint64_t ino, int fd, uint64_t len);

#endif
