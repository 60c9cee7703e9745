/* What one name in a merged directory is: the upper entry (if any) with its markers, the lower
 * entry it shows or merges, and whether a lower entry sits at this exact position. */
#ifndef LAMINA_ENTRY_H
#define LAMINA_ENTRY_H

#include "server.h"
#include "upper.h"

/* A merged directory as a parent: its upper directory (or -1) and the view directory below (or 0). */
struct cursor {
	int up_fd;
	uint64_t lower_dir;
};

struct entry {
	/* The name exists in the merged view (not absent, not whited out). */
	int exists;
	/* There is an upper entry: its stat and markers, and for a directory its fd (else -1). */
	int upper;
	int up_fd;
	struct stat st;
	struct markers m;
	/* An upper whiteout hides this name. */
	int whiteout;
	/* Directories: the view directory merged below. Others: the view inode shown (lower only) or
	 * holding the data (metacopy). 0: none. */
	uint64_t lower;
	/* The view inode at this very position of the parent's lower directory, hidden or not. */
	uint64_t here;
	/* File type of the merged entry. */
	mode_t type;
	/* Just made through this mount: no xattrs a user could see. */
	int fresh;
};

/* Resolves `name` in the merged directory `dir`; 0 (check e->exists) or an errno. */
int resolve_entry(struct server *s, const struct cursor *dir, const char *name, struct entry *e);
/* Closes what resolve_entry opened and the caller did not take. */
void entry_release(struct entry *e);
/* The inode number a node made from `e` reports. */
uint64_t entry_st_ino(const struct server *s, const struct entry *e);
/* The lower identity of `e`: a copy-up's origin or the view inode it shows; 0 for upper-only entries. */
uint64_t entry_lower_key(const struct server *s, const struct entry *e);

/* Inodes of upper-only entries are reported above this, so they never meet view inode numbers. */
#define UPPER_INO_BASE (1ULL << 40)

#endif
