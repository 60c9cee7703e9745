#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Enough threads that a burst of slow requests (copy-ups of big files, fsyncs) never leaves the
 * mount without a reader; one is started only when the lead passes on and none waits. */
#define MAX_THREADS 64
/* Jobs one request can leave for after its callback (a read, an attribute invalidation). */
#define MAX_AFTER 8
/* How long the leader may run slow work before the watcher passes the lead on. */
#define HANDOFF_NS 1000000

struct loop {
	struct fuse_session *se;
	sem_t lead;           /* taken by the thread that reads /dev/fuse; the watcher may give it back */
	pthread_mutex_t lock; /* guards the three fields below */
	int waiting;          /* threads waiting for `lead` */
	int threads;
	pthread_t tids[MAX_THREADS];
	int err;
	/* Odd while the leader runs slow work; whoever moves it on from an odd value (the leader
	 * when done, or the watcher when the work has lasted HANDOFF_NS) decides who leads next. */
	atomic_ulong slow;
	atomic_llong slow_since; /* CLOCK_MONOTONIC ns when the current slow work began */
	/* A timerfd that wakes the watcher. Arming it costs a system call (and on a VM a trap to
	 * reprogram the timer), so slow work only arms it when it is not armed already: in a run
	 * of reads it is armed about once a millisecond, not twice per read. */
	int timer;
	atomic_int armed;
	atomic_int stopping;
	pthread_t watcher;
};

struct job {
	void (*fn)(void *);
	void *arg;
};

static __thread struct loop *self_loop;
static __thread int self_leading;
static __thread int self_slow; /* in a slow section (they do not nest) */
static __thread struct job self_after[MAX_AFTER];
static __thread int self_after_count;

static void *follow(void *arg);

static void arm(struct loop *l, long ns)
{
	struct itimerspec t = { .it_value = { 0, ns } };
	timerfd_settime(l->timer, 0, &t, NULL);
}

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Makes sure a thread waits to lead, starting one when none does and the cap allows. */
static void ensure_follower(struct loop *l)
{
	pthread_mutex_lock(&l->lock);
	if (!l->waiting && l->threads < MAX_THREADS && !pthread_create(&l->tids[l->threads], NULL, follow, l)) {
		l->threads++;
		l->waiting++; /* counted now, so a second hand-off does not start another */
	}
	pthread_mutex_unlock(&l->lock);
}

static void pass_lead(struct loop *l)
{
	ensure_follower(l);
	sem_post(&l->lead);
}

/* Passes the lead on once the leader's slow work has lasted HANDOFF_NS. */
static void *watch(void *arg)
{
	struct loop *l = arg;
	uint64_t fired;
	while (!atomic_load(&l->stopping)) {
		if (read(l->timer, &fired, sizeof fired) < 0 && errno != EINTR)
			break;
		atomic_store(&l->armed, 0); /* before looking: slow work that began after this arms it again */
		for (;;) {
			unsigned long s = atomic_load(&l->slow);
			long long left;
			if (!(s & 1) || atomic_load(&l->stopping))
				break; /* nothing slow under way: the timer stays off */
			left = atomic_load(&l->slow_since) + HANDOFF_NS - now_ns();
			if (atomic_load(&l->slow) != s)
				continue; /* it ended or another began while we looked */
			if (left > 0) {
				if (!atomic_exchange(&l->armed, 1))
					arm(l, left);
				break;
			}
			if (atomic_compare_exchange_strong(&l->slow, &s, s + 1)) {
				pass_lead(l);
				break;
			}
		}
	}
	return NULL;
}

static void take_lead(struct loop *l, int counted)
{
	if (!counted) {
		pthread_mutex_lock(&l->lock);
		l->waiting++;
		pthread_mutex_unlock(&l->lock);
	}
	while (sem_wait(&l->lead) && errno == EINTR)
		;
	pthread_mutex_lock(&l->lock);
	l->waiting--;
	pthread_mutex_unlock(&l->lock);
	self_leading = 1;
}

void loop_after(void (*fn)(void *), void *arg)
{
	if (!self_loop || self_after_count == MAX_AFTER)
		fn(arg);
	else
		self_after[self_after_count++] = (struct job){ fn, arg };
}

unsigned long loop_slow_begin(void)
{
	struct loop *l = self_loop;
	unsigned long s;
	if (!l || !self_leading || self_slow)
		return 0;
	self_slow = 1;
	atomic_store(&l->slow_since, now_ns());
	s = atomic_fetch_add(&l->slow, 1) + 1;
	if (!atomic_exchange(&l->armed, 1))
		arm(l, HANDOFF_NS);
	return s;
}

void loop_slow_end(unsigned long s)
{
	struct loop *l = self_loop;
	if (!s)
		return;
	self_slow = 0;
	if (!atomic_compare_exchange_strong(&l->slow, &s, s + 1))
		self_leading = 0; /* the watcher passed the lead on; the timer is left to fire (or not) */
}

/* Runs what the request left for later, in line: that saves waking another thread. */
static void run_after(void)
{
	unsigned long s;
	if (!self_after_count)
		return;
	s = loop_slow_begin();
	for (int i = 0; i < self_after_count; i++) /* jobs may add more */
		self_after[i].fn(self_after[i].arg);
	self_after_count = 0;
	loop_slow_end(s);
}

static void serve_requests(struct loop *l, int counted)
{
	struct fuse_buf buf = { 0 };
	self_loop = l;
	for (;;) {
		int res;
		if (!self_leading)
			take_lead(l, counted);
		counted = 0;
		if (fuse_session_exited(l->se))
			break;
		res = fuse_session_receive_buf(l->se, &buf);
		if (res == -EINTR)
			continue;
		if (res <= 0) {
			if (res < 0)
				l->err = -res;
			fuse_session_exit(l->se); /* the others stop too */
			break;
		}
		fuse_session_process_buf(l->se, &buf);
		run_after();
	}
	self_leading = 0;
	sem_post(&l->lead); /* the next thread sees the session has exited */
	free(buf.mem);
	self_loop = NULL;
}

static void *follow(void *arg)
{
	serve_requests(arg, 1);
	return NULL;
}

int loop_serve(struct fuse_session *se)
{
	struct loop l = { .se = se };
	int threads;
	if ((l.timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) < 0)
		return errno;
	sem_init(&l.lead, 0, 1);
	pthread_mutex_init(&l.lock, NULL);
	if ((l.err = pthread_create(&l.watcher, NULL, watch, &l))) {
		close(l.timer);
		return l.err;
	}
	serve_requests(&l, 0);
	atomic_store(&l.stopping, 1);
	arm(&l, 1); /* wakes the watcher to see it */
	pthread_join(l.watcher, NULL); /* no hand-off after this: no thread starts */
	pthread_mutex_lock(&l.lock);
	threads = l.threads;
	pthread_mutex_unlock(&l.lock);
	for (int i = 0; i < threads; i++)
		pthread_join(l.tids[i], NULL);
	sem_destroy(&l.lead);
	pthread_mutex_destroy(&l.lock);
	close(l.timer);
	fuse_session_reset(se);
	return l.err;
}
