/* Lower hard links in a writable mount: every name of a lower hard-link group that the merged view
 * still shows at its own path is counted in nlink, and all of them become links of one upper file
 * when the group is copied up (kernel overlayfs needs index=on for this; names moved with a
 * renamed lower directory are not found at their old path and are left out). */
#ifndef LAMINA_LINKS_H
#define LAMINA_LINKS_H

#include "server.h"

/* Links every other still-lower name of group `ino` to its new upper copy, held by `fd`. */
void link_aliases(struct server *s, uint64_t ino, int fd);
/* How many names of lower group `ino` the merged view still shows as that lower file. */
uint32_t visible_links(struct server *s, uint64_t ino);

#endif
