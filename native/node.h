/* The inodes of a writable mount. A node is one object of the merged view as the kernel knows it
 * (FUSE node id = its address). It is found by its upper identity (device, inode of the upper
 * entry) or, while it has none, by its lower identity (the view inode it shows). */
#ifndef LAMINA_NODE_H
#define LAMINA_NODE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

struct node {
	/* Kernel lookups and internal references (children naming it as parent); table lock. */
	uint64_t nlookup;
	uint32_t refs;
	/* Keys in the node table; set once they are known, under the table lock. */
	uint64_t lower_key;
	dev_t up_dev;
	ino_t up_ino;
	/* What the node is; everything below is protected by `lock`. */
	pthread_mutex_t lock;
	mode_t type;
	/* The node has an entry in the upper layer. */
	unsigned upper : 1;
	/* Directories with an upper entry: its fd. Other types: -1, or an O_PATH fd kept once the
	 * name the node was last seen under may be gone (see node_pin); files are reopened through
	 * their parent otherwise, since a container may hold more files than a process may hold fds. */
	int upper_fd;
	/* An O_RDONLY fd on the upper data, opened when a reader needs it after a copy-up; -1 if none. */
	int data_fd;
	/* Directories: the view directory merged below (0: none, or opaque). */
	uint64_t lower_dir;
	/* Non-directories: the view inode holding the data while the node is lower only or metacopy. */
	uint64_t lower_data;
	/* Lower-only files with several names: how many of them the merged view still shows. */
	uint32_t lower_nlink;
	/* A lower-only file whose last name went (its open fds see nlink 0), and when. */
	int gone;
	struct timespec gone_at;
	unsigned metacopy : 1;
	/* Made through this mount and given no xattr since: getxattr needs no system call. */
	unsigned bare : 1;
	/* Made through this mount: it never had a kept ctime (trusted.lamina.ctime; only copy-ups,
	 * and copies into directories that have lower entries, record one), so a change needs no
	 * removexattr. Five per file of an untar, before this. */
	unsigned fresh : 1;
	/* Merged directories: how many lower subdirectories have no upper entry (their st_nlink is
	 * the upper one plus this), kept while `gen`, the upper st_nlink and lower_dir stay as they
	 * were when counted. `gen` moves (atomically, under any lock) when a name of a lower
	 * subdirectory is made, removed or renamed; a copy-up into the directory moves st_nlink. */
	struct {
		uint32_t gen, counted_gen;
		nlink_t upper_nlink;
		uint64_t lower_dir;
		nlink_t absent;
		int counted;
	} lower_subdirs;
	/* A copy-up of this node is under way (in a thread that holds no lock while copying); the
	 * others wait on `copied`. */
	int copying;
	pthread_cond_t copied;
	/* The inode number reported: the lower inode it came from, or 2^40 + the upper host inode. */
	uint64_t st_ino;
	/* Where the node was last seen: directories have exactly one parent; files the last one. */
	struct node *parent;
	char *name;
	/* Operations using upper_fd right now; while non-zero the fd cache leaves it open. */
	uint32_t fd_users;
	/* upper_fd is a cached reopen (closed when the cache needs room; set under both the node's
	 * and the cache's lock), or pinned (kept). Not bit-fields: other fields' locks differ. */
	int fd_cached, pinned;
	/* Hash chains of the node table, and the fd cache's list (most recently used first). */
	struct node *next_lower, *next_upper, *lru_prev, *lru_next;
};

struct node_table;

struct node_table *node_table_new(void);
void node_table_free(struct node_table *t);

/* The node with upper identity (dev, ino), or else with lower identity `lower_key` (0: none), with
 * one more kernel lookup counted; NULL when neither is known. */
struct node *node_find(struct node_table *t, dev_t dev, ino_t ino, uint64_t lower_key);
/* Registers a new node (one lookup counted) under the keys it has, unless a node with one of
 * them exists: then that one is counted and returned, and `n` is the caller's to free. */
struct node *node_insert(struct node_table *t, struct node *n);
/* Frees a node that was never inserted. */
void node_free(struct node *n);
/* Adds the upper identity of a node that just got an upper entry. */
void node_set_upper_key(struct node_table *t, struct node *n, dev_t dev, ino_t ino);
/* Drops `nlookup` kernel lookups; frees the node when nothing refers to it any more. */
void node_forget(struct node_table *t, struct node *n, uint64_t nlookup);
/* Points `n` at a new parent and name (after a rename, or another hard link's lookup); no-op when unchanged. */
int node_move(struct node_table *t, struct node *n, struct node *parent, const char *name);
/* Takes or drops an internal reference that keeps a node alive without a kernel lookup. */
void node_hold(struct node_table *t, struct node *n);
void node_release(struct node_table *t, struct node *n);

/* The node's parent (held: release it with node_release) and a copy of its name; ENOENT for the root. */
int node_location(struct node_table *t, struct node *n, struct node **parent, char name[256]);

struct node *node_alloc(mode_t type, struct node *parent, const char *name);

/* The fd cache: reopened upper fds of non-directories stay with their node, at most `limit` of
 * them; the least recently used fd not in use is closed to make room. Call with n->lock free. */
void fd_cache_limit(struct node_table *t, size_t limit);
void fd_cache_add(struct node_table *t, struct node *n);
void fd_cache_touch(struct node_table *t, struct node *n);
/* Takes `n` out of the cache (it is pinned, or going away); its fd stays open. */
void fd_cache_remove(struct node_table *t, struct node *n);

#endif
