/* Reaching a node's upper entry. A directory keeps its fd; another node is reopened through its
 * parent's fd and the name it was last seen under, checked against its upper inode, for the
 * length of one operation (a container may hold more files than a process may hold fds). A node
 * whose name is about to go is pinned: it keeps an O_PATH fd from then on. */
#ifndef LAMINA_NODE_FD_H
#define LAMINA_NODE_FD_H

#include "server.h"

/* An fd on n's upper entry (which must exist) in *fd; give it back with node_fd_put. The _held
 * forms are for a caller that holds n->lock (a parent's lock may be taken after a child's). */
int node_fd_get(struct server *s, struct node *n, int *fd);
void node_fd_put(struct node *n, int fd);
int node_fd_get_held(struct server *s, struct node *n, int *fd);
void node_fd_put_held(struct node *n, int fd);
/* Keeps an fd on n's upper entry for good (its name is being unlinked or replaced). */
void node_pin(struct server *s, struct node *n);
/* The node (if the kernel knows one) of an upper entry with this identity, pinned; see node_pin. */
void pin_upper(struct server *s, dev_t dev, ino_t ino);

#endif
