/* The node table: two intrusive hash maps (lower identity, upper identity) under one mutex that
 * is never held across a system call. */
#include "node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct map {
	struct node **slots;
	size_t size, count;
};

struct fd_lru {
	pthread_mutex_t lock;
	struct node *head, *tail;
	size_t count, limit;
};

struct node_table {
	pthread_mutex_t lock;
	struct map lower, upper;
	struct fd_lru lru;
};

static size_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static size_t upper_hash(dev_t dev, ino_t ino)
{
	return hash64((uint64_t)ino * 31 + (uint64_t)dev);
}

static struct node **chain_next(struct node *n, int upper)
{
	return upper ? &n->next_upper : &n->next_lower;
}

static size_t hash_of(const struct node *n, int upper)
{
	return upper ? upper_hash(n->up_dev, n->up_ino) : hash64(n->lower_key);
}

static int map_grow(struct map *m, int upper)
{
	size_t size = m->size ? m->size * 2 : 1024;
	struct node **slots = calloc(size, sizeof *slots);
	if (!slots)
		return ENOMEM;
	for (size_t i = 0; i < m->size; i++) {
		for (struct node *n = m->slots[i], *next; n; n = next) {
			size_t h = hash_of(n, upper) & (size - 1);
			next = *chain_next(n, upper);
			*chain_next(n, upper) = slots[h];
			slots[h] = n;
		}
	}
	free(m->slots);
	m->slots = slots;
	m->size = size;
	return 0;
}

static void map_add(struct map *m, struct node *n, int upper)
{
	size_t h;
	if (m->count + 1 > m->size && map_grow(m, upper))
		return; /* out of memory: the node stays usable, only not findable by this key */
	h = hash_of(n, upper) & (m->size - 1);
	*chain_next(n, upper) = m->slots[h];
	m->slots[h] = n;
	m->count++;
}

static void map_remove(struct map *m, struct node *n, int upper)
{
	struct node **p;
	if (!m->size)
		return;
	for (p = &m->slots[hash_of(n, upper) & (m->size - 1)]; *p; p = chain_next(*p, upper)) {
		if (*p == n) {
			*p = *chain_next(n, upper);
			m->count--;
			return;
		}
	}
}

static struct node *find_upper(struct map *m, dev_t dev, ino_t ino)
{
	if (!m->size || !ino)
		return NULL;
	for (struct node *n = m->slots[upper_hash(dev, ino) & (m->size - 1)]; n; n = n->next_upper)
		if (n->up_ino == ino && n->up_dev == dev)
			return n;
	return NULL;
}

static struct node *find_lower(struct map *m, uint64_t key)
{
	if (!m->size || !key)
		return NULL;
	for (struct node *n = m->slots[hash64(key) & (m->size - 1)]; n; n = n->next_lower)
		if (n->lower_key == key)
			return n;
	return NULL;
}

struct node_table *node_table_new(void)
{
	struct node_table *t = calloc(1, sizeof *t);
	if (t) {
		pthread_mutex_init(&t->lock, NULL);
		pthread_mutex_init(&t->lru.lock, NULL);
		t->lru.limit = 1024;
	}
	return t;
}

static void free_with_fds(struct node *n)
{
	if (n->upper_fd >= 0)
		close(n->upper_fd);
	if (n->data_fd >= 0)
		close(n->data_fd);
	node_free(n);
}

/* Frees every node still in the table too: the kernel forgets none at unmount. A node in both
 * maps is freed from the upper one. Call once nothing else runs. */
void node_table_free(struct node_table *t)
{
	for (size_t i = 0; i < t->lower.size; i++) {
		for (struct node *n = t->lower.slots[i], *next; n; n = next) {
			next = n->next_lower;
			if (!n->up_ino || find_upper(&t->upper, n->up_dev, n->up_ino) != n)
				free_with_fds(n);
		}
	}
	for (size_t i = 0; i < t->upper.size; i++) {
		for (struct node *n = t->upper.slots[i], *next; n; n = next) {
			next = n->next_upper;
			free_with_fds(n);
		}
	}
	pthread_mutex_destroy(&t->lru.lock);
	pthread_mutex_destroy(&t->lock);
	free(t->lower.slots);
	free(t->upper.slots);
	free(t);
}

struct node *node_alloc(mode_t type, struct node *parent, const char *name)
{
	struct node *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->name = strdup(name ? name : "");
	if (!n->name) {
		free(n);
		return NULL;
	}
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->copied, NULL);
	n->type = type;
	n->upper_fd = n->data_fd = -1;
	n->parent = parent;
	return n;
}

struct node *node_find(struct node_table *t, dev_t dev, ino_t ino, uint64_t lower_key)
{
	struct node *n;
	pthread_mutex_lock(&t->lock);
	n = find_upper(&t->upper, dev, ino);
	if (!n)
		n = find_lower(&t->lower, lower_key);
	if (n)
		n->nlookup++;
	pthread_mutex_unlock(&t->lock);
	return n;
}

struct node *node_insert(struct node_table *t, struct node *n)
{
	struct node *had;
	pthread_mutex_lock(&t->lock);
	had = find_upper(&t->upper, n->up_dev, n->up_ino);
	if (!had)
		had = find_lower(&t->lower, n->lower_key);
	if (had) {
		had->nlookup++;
		pthread_mutex_unlock(&t->lock);
		return had;
	}
	n->nlookup++;
	if (n->parent)
		n->parent->refs++;
	if (n->lower_key)
		map_add(&t->lower, n, 0);
	if (n->up_ino)
		map_add(&t->upper, n, 1);
	pthread_mutex_unlock(&t->lock);
	return n;
}

void node_free(struct node *n)
{
	pthread_cond_destroy(&n->copied);
	pthread_mutex_destroy(&n->lock);
	free(n->name);
	free(n);
}

void node_set_upper_key(struct node_table *t, struct node *n, dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&t->lock);
	if (n->up_ino)
		map_remove(&t->upper, n, 1);
	n->up_dev = dev;
	n->up_ino = ino;
	map_add(&t->upper, n, 1);
	pthread_mutex_unlock(&t->lock);
}

/* Frees `n` and walks up the parents it kept alive; called with the table lock held. */
static struct node *unlink_dead(struct node_table *t, struct node *n)
{
	struct node *parent = n->parent;
	if (n->nlookup || n->refs)
		return NULL;
	if (n->lower_key)
		map_remove(&t->lower, n, 0);
	if (n->up_ino)
		map_remove(&t->upper, n, 1);
	if (n->fd_cached)
		fd_cache_remove(t, n);
	free_with_fds(n);
	if (parent)
		parent->refs--;
	return parent;
}

void node_forget(struct node_table *t, struct node *n, uint64_t nlookup)
{
	pthread_mutex_lock(&t->lock);
	n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
	while (n)
		n = unlink_dead(t, n);
	pthread_mutex_unlock(&t->lock);
}

void node_hold(struct node_table *t, struct node *n)
{
	pthread_mutex_lock(&t->lock);
	n->refs++;
	pthread_mutex_unlock(&t->lock);
}

void node_release(struct node_table *t, struct node *n)
{
	pthread_mutex_lock(&t->lock);
	n->refs--;
	while (n)
		n = unlink_dead(t, n);
	pthread_mutex_unlock(&t->lock);
}

int node_move(struct node_table *t, struct node *n, struct node *parent, const char *name)
{
	char *copy;
	struct node *old;
	pthread_mutex_lock(&t->lock);
	if (n->parent == parent && !strcmp(n->name, name)) {
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	pthread_mutex_unlock(&t->lock);
	if (!(copy = strdup(name)))
		return ENOMEM;
	pthread_mutex_lock(&t->lock);
	old = n->parent;
	parent->refs++;
	n->parent = parent;
	free(n->name);
	n->name = copy;
	if (old)
		old->refs--;
	while (old)
		old = unlink_dead(t, old);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int node_location(struct node_table *t, struct node *n, struct node **parent, char name[256])
{
	int err = 0;
	pthread_mutex_lock(&t->lock);
	if (!n->parent || strlen(n->name) > 255) {
		err = ENOENT;
	} else {
		*parent = n->parent;
		n->parent->refs++;
		strcpy(name, n->name);
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

static void lru_unlink(struct fd_lru *l, struct node *n)
{
	if (n->lru_prev)
		n->lru_prev->lru_next = n->lru_next;
	else
		l->head = n->lru_next;
	if (n->lru_next)
		n->lru_next->lru_prev = n->lru_prev;
	else
		l->tail = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
}

static void lru_push(struct fd_lru *l, struct node *n)
{
	n->lru_prev = NULL;
	n->lru_next = l->head;
	if (l->head)
		l->head->lru_prev = n;
	l->head = n;
	if (!l->tail)
		l->tail = n;
}

/* Closes the fd of the least recently used idle nodes until the cache fits; busy ones move up. */
static void lru_shrink(struct fd_lru *l)
{
	for (size_t tries = l->count; l->count > l->limit && tries > 0 && l->tail; tries--) {
		struct node *n = l->tail;
		int closed = 0;
		if (!pthread_mutex_trylock(&n->lock)) {
			if (!n->fd_users && n->fd_cached && !n->pinned) {
				close(n->upper_fd);
				n->upper_fd = -1;
				n->fd_cached = 0;
				closed = 1;
			}
			pthread_mutex_unlock(&n->lock);
		}
		lru_unlink(l, n);
		if (closed)
			l->count--;
		else
			lru_push(l, n);
	}
}

void fd_cache_limit(struct node_table *t, size_t limit)
{
	t->lru.limit = limit;
}

void fd_cache_add(struct node_table *t, struct node *n)
{
	pthread_mutex_lock(&t->lru.lock);
	lru_push(&t->lru, n);
	t->lru.count++;
	lru_shrink(&t->lru);
	pthread_mutex_unlock(&t->lru.lock);
}

void fd_cache_touch(struct node_table *t, struct node *n)
{
	pthread_mutex_lock(&t->lru.lock);
	if (n->fd_cached && t->lru.head != n) {
		lru_unlink(&t->lru, n);
		lru_push(&t->lru, n);
	}
	pthread_mutex_unlock(&t->lru.lock);
}

void fd_cache_remove(struct node_table *t, struct node *n)
{
	pthread_mutex_lock(&t->lru.lock);
	if (n->fd_cached) {
		lru_unlink(&t->lru, n);
		t->lru.count--;
		n->fd_cached = 0;
	}
	pthread_mutex_unlock(&t->lru.lock);
}
