/* libFuzzer target for the view-file reader: any bytes must give a clean refusal or a view that
 * every accessor can walk without a fault (ASan and UBSan watch). Build: make -C native fuzz. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

/* Walks what a mount server would touch: every inode's stat and xattrs, every directory's
 * entries looked up by name, every symlink target. */
static void walk(const struct view *v)
{
	char list[4096];
	struct stat st;
	for (uint64_t ino = 1; ino <= v->h->inode_count; ino++) {
		const struct view_inode *n = view_inode(v, ino);
		view_stat(v, ino, &st);
		view_listxattr(v, ino, list, sizeof list);
		if (S_ISLNK(n->mode) && n->size)
			(void)view_name(v, n->data)[n->size - 1];
		if (!S_ISDIR(n->mode))
			continue;
		for (uint64_t i = 0; i < n->size; i++) {
			const struct view_dirent *e = &v->dirents[n->data + i];
			char name[VIEW_MAX_NAME + 1];
			memcpy(name, view_name(v, e->name_off), e->name_len);
			name[e->name_len] = 0;
			if (view_lookup(v, ino, name, e->name_len) != e->ino)
				abort(); /* a loaded view must answer its own names */
		}
		view_lookup(v, ino, "missing", 7);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The reader expects 8-byte alignment (mmap gives page alignment). */
	uint64_t *copy = malloc(size + 8);
	struct view v;
	char err[256];
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (!view_load(&v, copy, size, err, sizeof err))
		walk(&v);
	free(copy);
	return 0;
}
