/*
 * lamina-exec ROOT WORKDIR UID GID ENVFILE -- COMMAND [ARG...]
 *
 * The last step of `lamina run`, inside the sandbox's namespaces: change root,
 * directory and IDs, then exec the command with exactly the environment in
 * ENVFILE (NUL-separated KEY=VALUE). Host tools before this point run with a
 * clean environment, so an image's LD_PRELOAD or LD_LIBRARY_PATH never reaches
 * them. Exit codes follow docker: 127 command not found, 126 not executable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(int code, const char *what, const char *arg) {
  fprintf(stderr, "lamina run: %s %s: %s\n", what, arg, strerror(errno));
  exit(code);
}

/* Read the whole env file (it lives on the host, outside ROOT) before chroot. */
static char *read_env(const char *file, size_t *len) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(125, "reading", file);
  struct stat st;
  if (fstat(fd, &st) < 0) die(125, "reading", file);
  char *buf = malloc(st.st_size + 1);
  size_t n = 0;
  while (buf && n < (size_t) st.st_size) {
    ssize_t r = read(fd, buf + n, st.st_size - n);
    if (r <= 0) die(125, "reading", file);
    n += r;
  }
  if (!buf) die(125, "reading", file);
  buf[n] = 0;
  close(fd);
  *len = n;
  return buf;
}

int main(int argc, char **argv) {
  if (argc < 8 || strcmp(argv[6], "--") != 0) {
    fprintf(stderr, "usage: lamina-exec ROOT WORKDIR UID GID ENVFILE -- COMMAND [ARG...]\n");
    return 125;
  }
  uid_t uid = (uid_t) strtoul(argv[3], NULL, 10);
  gid_t gid = (gid_t) strtoul(argv[4], NULL, 10);
  size_t len;
  char *env = read_env(argv[5], &len);
  if (chroot(argv[1]) < 0) die(125, "changing root to", argv[1]);
  if (chdir(argv[2]) < 0) die(125, "changing directory to", argv[2]);
  if (setgroups(0, NULL) < 0) die(125, "dropping groups", "");
  if (setgid(gid) < 0) die(125, "setting gid", argv[4]);
  if (setuid(uid) < 0) die(125, "setting uid", argv[3]);
  clearenv();
  for (size_t i = 0; i < len; i += strlen(env + i) + 1)
    if (env[i] && putenv(env + i) != 0) die(125, "setting environment", env + i);
  execvp(argv[7], argv + 7); /* PATH is now the container's */
  die(errno == ENOENT || errno == ENOTDIR ? 127 : 126, "executing", argv[7]);
  return 127;
}
