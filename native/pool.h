/* A fixed set of worker threads for the requests that may take long (reads that go to the disk,
 * data copy-ups, fsync). Everything else is answered on the one thread that reads /dev/fuse:
 * measured here, handing every request to another thread (libfuse's multithreaded loop) made an
 * untar of 20,000 files 3× slower than answering in line (native-notes/native-server.md). */
#ifndef LAMINA_POOL_H
#define LAMINA_POOL_H

struct pool;

/* Starts `threads` workers; NULL if none could start. */
struct pool *pool_start(int threads);
/* Runs fn(arg) on a worker (fn owns arg); 0, or an errno when it could not be queued. */
int pool_submit(struct pool *p, void (*fn)(void *), void *arg);
/* Lets queued jobs finish, then stops the workers. */
void pool_stop(struct pool *p);

#endif
