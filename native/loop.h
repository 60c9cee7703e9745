/* The request loop of a mount server: one leader, followers, and a watcher.
 *
 * One thread at a time (the leader) reads /dev/fuse and answers requests in line: lookups,
 * getattr, readdir, creates and renames do not wait for the disk, and answering them where they
 * were read is what makes an untar fast (handing every request to another thread, as libfuse's
 * multithreaded loop does, made an untar of 20,000 files 3× slower here). Work that may wait for
 * the disk (reads, data copy-ups, fsync) is deferred to after its request's callback and then
 * also run by the leader. A watcher thread, woken by a timer, hands the lead to a waiting thread
 * (started if none waits) once slow work has lasted 1 ms; that thread goes on reading requests
 * while the slow work finishes where it began. So a slow disk never stalls the mount for more
 * than about a millisecond, and a fast read costs no thread switch: waking a worker for every
 * read had cost cold random 4 KiB reads 20% of their IOPS (native-notes/native-server.md). */
#ifndef LAMINA_LOOP_H
#define LAMINA_LOOP_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

/* Serves `se` until the kernel drops the connection or the session exits; 0 or an errno. */
int loop_serve(struct fuse_session *se);

/* Runs fn(arg) once the current request's callback has returned (so after its reply), as slow
 * work that may pass the lead on. Outside the loop, runs it now. */
void loop_after(void (*fn)(void *), void *arg);

/* Brackets work that may wait (for the disk, or for another thread's copy-up) on the thread
 * that reads requests: if it lasts over a millisecond the lead passes on. No-ops elsewhere. */
unsigned long loop_slow_begin(void);
void loop_slow_end(unsigned long token);

#endif
