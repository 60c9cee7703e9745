#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct job {
	void (*fn)(void *);
	void *arg;
	struct job *next;
};

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct job *head, *tail;
	int stopping, threads;
	pthread_t *tids;
};

static void *work(void *arg)
{
	struct pool *p = arg;
	for (;;) {
		struct job *j;
		pthread_mutex_lock(&p->lock);
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->more, &p->lock);
		j = p->head;
		if (j && !(p->head = j->next))
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		if (!j)
			return NULL;
		j->fn(j->arg);
		free(j);
	}
}

struct pool *pool_start(int threads)
{
	struct pool *p = calloc(1, sizeof *p);
	if (!p || !(p->tids = calloc(threads, sizeof *p->tids))) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->more, NULL);
	for (; p->threads < threads; p->threads++)
		if (pthread_create(&p->tids[p->threads], NULL, work, p))
			break;
	if (!p->threads) {
		pool_stop(p);
		return NULL;
	}
	return p;
}

int pool_submit(struct pool *p, void (*fn)(void *), void *arg)
{
	struct job *j = malloc(sizeof *j);
	if (!j)
		return ENOMEM;
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->more);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void pool_stop(struct pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->more);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->threads; i++)
		pthread_join(p->tids[i], NULL);
	free(p->tids);
	free(p);
}
