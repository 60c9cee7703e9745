/* lamina-exec: shared declarations of its parts (see lamina-exec.c). */
#ifndef LAMINA_EXEC_H
#define LAMINA_EXEC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAX_PATHS 64

/* A host path bound onto a path inside the container (read-only with ro). */
struct bind {
  const char *src, *dst;
  int ro;
};

struct opts {
  /* the process */
  const char *cwd, *env_file, *seccomp_deny;
  uid_t uid;
  gid_t gid;
  gid_t groups[256];
  size_t ngroups;
  uint64_t caps;
  int no_new_privs, tty;
  char **argv;
  char *env;
  size_t env_len;
  /* init: the container's root and namespaces */
  const char *root, *hostname, *init_binary;
  int net, lo, sysfs_rw, sync_fd;
  pid_t ppid;
  const char *mask[MAX_PATHS], *readonly[MAX_PATHS];
  size_t nmask, nreadonly;
  struct bind binds[MAX_PATHS];
  size_t nbinds;
  /* join */
  pid_t target;
};

void die(int code, const char *what, const char *arg) __attribute__((noreturn));
void usage(const char *why) __attribute__((noreturn));
int write_all(int fd, const char *buf, size_t n);

/* exec-root.c: the container's namespaces and root, seen from its first process */
void enter_namespaces(const struct opts *o);
void setup_root(const struct opts *o);
void pivot_into(const char *root);
void mask_path(const char *p);
void readonly_path(const char *p);

/* exec-privileges.c: who the process runs as, with which privileges */
void enter_process(struct opts *o, int make_cwd) __attribute__((noreturn));

/* exec-pty.c: the terminal, and waiting for the command */
int open_pty(const char *ptmx, int *peer);
void take_terminal(int peer, uid_t uid);
int block_signals(void);
void unblock_signals(void);
int supervise(int master, pid_t child, int sigfd, int ctl);

#endif
