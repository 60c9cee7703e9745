/*
 * lamina-exec: starts a process in a container.
 *
 *   lamina-exec init [OPTIONS] -- COMMAND [ARG...]
 *     A container's first process: new mount, UTS, IPC (and network) namespaces with the container's
 *     root at --root, /sys, /dev and the host files bound in (exec-root.c), then the command as
 *     PID 1 of a new PID namespace, which mounts /proc, pivots into the root, hides and
 *     write-protects docker's kernel paths and drops privileges (exec-privileges.c).
 *   lamina-exec join --target PID [OPTIONS] -- COMMAND [ARG...]
 *     Another process in the namespaces and root of the container whose first process is PID
 *     (docker exec).
 *
 * In both, this process stays outside the container as the command's parent: it relays a
 * pseudo-terminal (--tty, exec-pty.c) or forwards signals, and exits with the command's status
 * (128+N when killed by signal N). Host tools never see the container's environment: it comes from
 * --env-file (NUL-separated KEY=VALUE), read before anything of the container is entered. Exit
 * codes follow docker: 125 the setup failed, 126 the command is not executable, 127 not found.
 *
 * Process options: --cwd DIR, --uid N, --gid N, --groups N,N..., --env-file F, --caps HEX (kept:
 * the bounding set, and the effective and permitted sets of uid 0), --no-new-privs,
 * --seccomp-deny NAME,... (EPERM; "clone-ns" refuses clone with namespace flags, "clone3"
 * answers ENOSYS so libc falls back to clone), --tty.
 * init options: --root DIR, --ppid N (die with that parent; also for join), --net (a network namespace),
 * --lo (bring its loopback up), --hostname NAME, --sysfs-rw, --init-binary PATH (bound at
 * /dev/init), --bind SRC DST and --bind-ro SRC DST, --mask PATH, --readonly PATH, --sync-fd N
 * ("ready\n" out, "go\n" in, "pid N\n" out, then window sizes "ROWS COLS\n" in).
 * join options: --target PID, --ppid N.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "exec.h"

void die(int code, const char *what, const char *arg) {
  fprintf(stderr, "lamina run: %s%s%s: %s\n", what, *arg ? " " : "", arg, strerror(errno));
  exit(code);
}

void usage(const char *why) {
  fprintf(stderr, "lamina-exec: %s\nusage: lamina-exec init|join [OPTIONS] -- COMMAND [ARG...]\n", why);
  exit(125);
}

/* A decimal number in [0, max], nothing else: no sign, no spaces, no suffix. */
static unsigned long long parse_number(const char *s, unsigned long long max, const char *what) {
  if (!*s || s[0] < '0' || s[0] > '9') goto bad;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > max) goto bad;
  return v;
bad:
  fprintf(stderr, "lamina-exec: invalid %s \"%s\"\n", what, s);
  exit(125);
}

/* uid_t and gid_t are 32 bits; (uid_t)-1 means "unchanged" to the kernel, so it is refused too. */
static uint32_t parse_id(const char *s, const char *what) {
  return (uint32_t) parse_number(s, UINT32_MAX - 1, what);
}

static void parse_groups(struct opts *o, char *list) {
  for (char *save = NULL, *g = strtok_r(list, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
    if (o->ngroups == sizeof o->groups / sizeof o->groups[0]) usage("too many --groups");
    o->groups[o->ngroups++] = parse_id(g, "gid");
  }
}

static void add_path(const char **list, size_t *n, const char *p) {
  if (*n == MAX_PATHS) usage("too many paths");
  if (p[0] != '/') usage("paths must be absolute");
  list[(*n)++] = p;
}

/* Options with a value; returns how many arguments it took. */
static int parse_valued(struct opts *o, const char *name, char *v) {
  if (!strcmp(name, "--root")) o->root = v;
  else if (!strcmp(name, "--cwd")) o->cwd = v;
  else if (!strcmp(name, "--env-file")) o->env_file = v;
  else if (!strcmp(name, "--uid")) o->uid = parse_id(v, "uid");
  else if (!strcmp(name, "--gid")) o->gid = parse_id(v, "gid");
  else if (!strcmp(name, "--groups")) parse_groups(o, v);
  else if (!strcmp(name, "--caps")) {
    char *end;
    errno = 0;
    o->caps = strtoull(v, &end, 16);
    if (errno || !*v || *end) usage("invalid --caps");
  } else if (!strcmp(name, "--seccomp-deny")) o->seccomp_deny = v;
  else if (!strcmp(name, "--mask")) add_path(o->mask, &o->nmask, v);
  else if (!strcmp(name, "--readonly")) add_path(o->readonly, &o->nreadonly, v);
  else if (!strcmp(name, "--sync-fd")) o->sync_fd = (int) parse_number(v, INT_MAX, "fd");
  else if (!strcmp(name, "--target")) o->target = (pid_t) parse_number(v, INT_MAX, "pid");
  else if (!strcmp(name, "--ppid")) o->ppid = (pid_t) parse_number(v, INT_MAX, "pid");
  else if (!strcmp(name, "--hostname")) o->hostname = v;
  else if (!strcmp(name, "--init-binary")) o->init_binary = v;
  else return 0;
  return 2;
}

/* --bind SRC DST and --bind-ro SRC DST. */
static int parse_bind(struct opts *o, const char *name, char *src, char *dst) {
  int ro = !strcmp(name, "--bind-ro");
  if (!ro && strcmp(name, "--bind")) return 0;
  if (o->nbinds == MAX_PATHS) usage("too many binds");
  if (dst[0] != '/') usage("bind targets must be absolute");
  o->binds[o->nbinds++] = (struct bind) { src, dst, ro };
  return 3;
}

static void parse_args(struct opts *o, int argc, char **argv) {
  o->sync_fd = -1;
  int i = 2;
  while (i < argc && strcmp(argv[i], "--")) {
    if (!strcmp(argv[i], "--no-new-privs")) o->no_new_privs = 1, i++;
    else if (!strcmp(argv[i], "--tty")) o->tty = 1, i++;
    else if (!strcmp(argv[i], "--lo")) o->lo = 1, i++;
    else if (!strcmp(argv[i], "--net")) o->net = 1, i++;
    else if (!strcmp(argv[i], "--sysfs-rw")) o->sysfs_rw = 1, i++;
    else if (i + 2 < argc && parse_bind(o, argv[i], argv[i + 1], argv[i + 2])) i += 3;
    else if (i + 1 < argc && parse_valued(o, argv[i], argv[i + 1])) i += 2;
    else usage("unknown option or missing value");
  }
  if (i + 1 >= argc) usage("no command");
  if (!o->env_file || !o->cwd) usage("--env-file and --cwd are required");
  o->argv = argv + i + 1;
}

/* Read the whole env file (it lives on the host) before anything of the container is entered. */
static void read_env(struct opts *o) {
  int fd = open(o->env_file, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) die(125, "reading", o->env_file);
  o->env = malloc(st.st_size + 1);
  if (!o->env) die(125, "reading", o->env_file);
  size_t n = 0;
  while (n < (size_t) st.st_size) {
    ssize_t r = read(fd, o->env + n, st.st_size - n);
    if (r <= 0) die(125, "reading", o->env_file);
    n += r;
  }
  o->env[n] = 0;
  o->env_len = n;
  close(fd);
}

static void sync_line(int fd, const char *line) {
  if (fd >= 0 && write_all(fd, line, strlen(line)) < 0) die(125, "talking to the monitor", "");
}

/* Blocks until the monitor says "go" (after it connected the network namespace). */
static void sync_wait(int fd) {
  if (fd < 0) return;
  char buf[8];
  size_t n = 0;
  while (n < 3) {
    ssize_t r = read(fd, buf + n, 3 - n);
    if (r <= 0) {
      errno = r == 0 ? ECONNRESET : errno;
      die(125, "waiting for the monitor", "");
    }
    n += r;
  }
  if (memcmp(buf, "go\n", 3)) usage("unexpected word from the monitor");
}

/*
 * A pipe whose write end only the parent holds: the child sees it hang up once the parent is gone
 * (getppid() cannot tell from inside a new PID namespace, where it is always 0).
 */
static int alive[2] = { -1, -1 };

static pid_t fork_tied(void) {
  if (pipe2(alive, O_CLOEXEC) < 0) die(125, "pipe", "");
  pid_t child = fork();
  if (child < 0) die(125, "fork", "");
  if (child > 0) close(alive[0]);
  return child;
}

/* In the child: dies with its parent, so no container outlives its supervisor. */
static void tie_to_parent(void) {
  close(alive[1]);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die(125, "prctl", "");
  struct pollfd p = { alive[0], POLLIN, 0 };
  if (poll(&p, 1, 0) != 0) _exit(125); /* hung up already */
  close(alive[0]);
}

static void init_child(struct opts *o, int peer) {
  unblock_signals();
  tie_to_parent();
  char proc[PATH_MAX];
  snprintf(proc, sizeof proc, "%s/proc", o->root);
  if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die(125, "mounting", "/proc");
  if (o->sync_fd >= 0) close(o->sync_fd);
  if (peer >= 0) take_terminal(peer, o->uid);
  pivot_into(o->root);
  for (size_t i = 0; i < o->nmask; i++) mask_path(o->mask[i]);
  for (size_t i = 0; i < o->nreadonly; i++) readonly_path(o->readonly[i]);
  enter_process(o, 1);
}

/* Dies with the monitor that started it, from the start: checked after the signal is armed. */
static void tie_to_monitor(pid_t ppid) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die(125, "prctl", "");
  if (ppid && getppid() != ppid) _exit(125);
}

static int run_init(struct opts *o) {
  if (!o->root) usage("init needs --root");
  tie_to_monitor(o->ppid);
  enter_namespaces(o);
  setup_root(o);
  char ptmx[PATH_MAX];
  int peer = -1, master = -1;
  if (o->tty) {
    snprintf(ptmx, sizeof ptmx, "%s/dev/pts/ptmx", o->root);
    master = open_pty(ptmx, &peer);
  }
  sync_line(o->sync_fd, "ready\n");
  sync_wait(o->sync_fd);
  if (unshare(CLONE_NEWPID) < 0) die(125, "creating a PID namespace", "");
  int sigfd = block_signals();
  pid_t child = fork_tied();
  if (child == 0) init_child(o, peer);
  if (peer >= 0) close(peer);
  char line[32];
  snprintf(line, sizeof line, "pid %d\n", child);
  sync_line(o->sync_fd, line);
  return supervise(master, child, sigfd, o->sync_fd);
}

static const char *const JOIN_NS[] = { "ipc", "uts", "net", "pid", "mnt" }; /* mnt last: it changes our root */

static int run_join(struct opts *o) {
  if (o->target <= 0) usage("join needs --target");
  tie_to_monitor(o->ppid);
  int fds[5];
  for (int i = 0; i < 5; i++) {
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/ns/%s", o->target, JOIN_NS[i]);
    if ((fds[i] = open(p, O_RDONLY | O_CLOEXEC)) < 0) die(125, "opening", p);
  }
  for (int i = 0; i < 5; i++) {
    if (setns(fds[i], 0) < 0) die(125, "entering the container's namespace", JOIN_NS[i]);
    close(fds[i]);
  }
  int peer = -1, master = o->tty ? open_pty("/dev/pts/ptmx", &peer) : -1;
  int sigfd = block_signals();
  pid_t child = fork_tied();
  if (child == 0) {
    unblock_signals();
    tie_to_parent();
    if (peer >= 0) take_terminal(peer, o->uid);
    enter_process(o, 0); /* docker exec: a missing working directory is an error */
  }
  if (peer >= 0) close(peer);
  return supervise(master, child, sigfd, -1);
}

int main(int argc, char **argv) {
  if (argc < 2) usage("no mode");
  struct opts o = { 0 };
  parse_args(&o, argc, argv);
  read_env(&o);
  if (!strcmp(argv[1], "init")) return run_init(&o);
  if (!strcmp(argv[1], "join")) return run_join(&o);
  usage("mode must be init or join");
  return 125;
}
