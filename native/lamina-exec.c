/*
 * lamina-exec: the last step of starting a process in a container.
 *
 *   lamina-exec init [OPTIONS] -- COMMAND [ARG...]
 *     Runs in the sandbox's new mount, UTS, IPC (and network) namespaces with the
 *     container's root mounted at --root. Forks the command as PID 1 of a new PID
 *     namespace, which mounts /proc, pivots into the root, hides and write-protects
 *     docker's kernel paths, and becomes the command (see enter_process).
 *   lamina-exec join --target PID [OPTIONS] -- COMMAND [ARG...]
 *     Runs a new process in the namespaces and root of the container whose first
 *     process is PID (docker exec).
 *
 * In both, this process stays outside the container as the command's parent: it
 * relays a pseudo-terminal (--tty) or forwards signals, and exits with the command's
 * status (128+N when killed by signal N). Host tools never see the container's
 * environment: it comes from --env-file (NUL-separated KEY=VALUE), read before
 * anything of the container is entered. Exit codes follow docker: 125 the setup
 * failed, 126 the command is not executable, 127 it was not found.
 *
 * Options: --root DIR, --cwd DIR, --uid N, --gid N, --groups N,N..., --env-file F,
 * --caps HEX (capabilities kept: the bounding set, and the effective, permitted and
 * inheritable sets of uid 0), --no-new-privs, --seccomp-deny NAME,NAME... (those
 * system calls fail with EPERM; "clone-ns" refuses clone with namespace flags and
 * "clone3" answers ENOSYS so libc falls back to clone), --mask PATH, --readonly PATH,
 * --tty, --sync-fd N (init: "ready\n" out, "go\n" in, "pid N\n" out, then window
 * sizes "ROWS COLS\n" in), --lo (bring the loopback interface up), --target PID.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define MAX_PATHS 64

struct opts {
  const char *root, *cwd, *env_file, *seccomp_deny;
  uid_t uid;
  gid_t gid;
  gid_t groups[NGROUPS_MAX > 256 ? 256 : NGROUPS_MAX];
  size_t ngroups;
  uint64_t caps;
  int no_new_privs, tty, lo, sync_fd;
  pid_t target;
  const char *mask[MAX_PATHS], *readonly[MAX_PATHS];
  size_t nmask, nreadonly;
  char **argv;
  char *env;
  size_t env_len;
};

static void die(int code, const char *what, const char *arg) {
  fprintf(stderr, "lamina run: %s%s%s: %s\n", what, *arg ? " " : "", arg, strerror(errno));
  exit(code);
}

static void usage(const char *why) {
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
  else return 0;
  return 2;
}

static void parse_args(struct opts *o, int argc, char **argv) {
  o->sync_fd = -1;
  int i = 2;
  while (i < argc && strcmp(argv[i], "--")) {
    if (!strcmp(argv[i], "--no-new-privs")) o->no_new_privs = 1, i++;
    else if (!strcmp(argv[i], "--tty")) o->tty = 1, i++;
    else if (!strcmp(argv[i], "--lo")) o->lo = 1, i++;
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

/* ---- inside the container ------------------------------------------------ */

/* mkdir -p, inside the container's root (absolute links resolve there, not on the host). */
static void make_dirs(const char *dir) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int) sizeof buf) usage("working directory too long");
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p) continue;
    char c = *p;
    *p = 0;
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) die(125, "creating working directory", buf);
    if (!c) return;
    *p = c;
  }
}

/* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the container. */
static void pivot_into(const char *root) {
  if (chdir(root) < 0) die(125, "entering", root);
  if (syscall(SYS_pivot_root, ".", ".") < 0) die(125, "pivot_root into", root);
  if (umount2(".", MNT_DETACH) < 0) die(125, "detaching the host's root", "");
  if (chdir("/") < 0) die(125, "entering", "/");
}

/* docker's maskedPaths: a file under /dev/null, a directory under an empty read-only tmpfs. */
static void mask_path(const char *p) {
  struct stat st;
  if (lstat(p, &st) < 0) {
    if (errno == ENOENT) return;
    die(125, "masking", p);
  }
  int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)
                              : mount("/dev/null", p, NULL, MS_BIND, NULL);
  if (r < 0) die(125, "masking", p);
}

/* docker's readonlyPaths: bound onto themselves, then remounted read-only. */
static void readonly_path(const char *p) {
  if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (errno == ENOENT) return;
    die(125, "protecting", p);
  }
  if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die(125, "protecting", p);
}

static void bring_up_loopback(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = { 0 };
  strcpy(ifr.ifr_name, "lo");
  if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die(125, "reading the loopback interface", "");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die(125, "bringing up the loopback interface", "");
  close(s);
}

static const int COMPAT_ARCHES[] = {
#if defined(__x86_64__)
  SCMP_ARCH_X86, SCMP_ARCH_X32,
#elif defined(__aarch64__)
  SCMP_ARCH_ARM,
#endif
  0,
};

static const uint64_t CLONE_NS_FLAGS[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP };

static void add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const char *name, unsigned nargs, struct scmp_arg_cmp cmp) {
  int r = nargs ? seccomp_rule_add(ctx, action, nr, 1, cmp) : seccomp_rule_add(ctx, action, nr, 0);
  if (r < 0) {
    errno = -r;
    die(125, "seccomp rule for", name);
  }
}

/* Rules for one system call are alternatives: clone is refused when any namespace flag is set. */
static void deny_syscall(scmp_filter_ctx ctx, const char *name) {
  struct scmp_arg_cmp none = { 0 };
  if (!strcmp(name, "clone-ns")) {
    for (size_t i = 0; i < sizeof CLONE_NS_FLAGS / sizeof CLONE_NS_FLAGS[0]; i++)
      add_rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), "clone", 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS[i], CLONE_NS_FLAGS[i]));
    return;
  }
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return; /* not a system call on this architecture */
  add_rule(ctx, strcmp(name, "clone3") ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_ERRNO(ENOSYS), nr, name, 0, none);
}

/* Everything not named is allowed: a deny list, loaded while CAP_SYS_ADMIN is still held. */
static void load_seccomp(const char *list) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) die(125, "seccomp", "init");
  /* libseccomp sets no_new_privs by default; docker leaves it off unless asked, so setuid binaries work */
  if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0) die(125, "seccomp", "attributes");
  for (const int *a = COMPAT_ARCHES; *a; a++) seccomp_arch_add(ctx, *a);
  char *copy = strdup(list);
  for (char *save = NULL, *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save)) deny_syscall(ctx, n);
  int r = seccomp_load(ctx);
  if (r < 0) {
    errno = -r;
    die(125, "loading the seccomp filter", "");
  }
  seccomp_release(ctx);
  free(copy);
}

static int last_cap(void) {
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  char buf[16] = { 0 };
  int n = fd >= 0 ? (int) read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) close(fd);
  return n > 0 ? atoi(buf) : CAP_LAST_CAP;
}

static void drop_bounding(uint64_t keep) {
  int last = last_cap();
  for (int cap = 0; cap <= last; cap++) {
    if (keep & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) die(125, "dropping capabilities", "");
  }
}

/* The permitted set now: what can be kept at most (the host itself may lack some). */
static uint64_t permitted_caps(void) {
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2] = { 0 };
  if (syscall(SYS_capget, &h, d) < 0) die(125, "reading capabilities", "");
  return (uint64_t) d[1].permitted << 32 | d[0].permitted;
}

/* uid 0 keeps `keep` effective and permitted; any other uid has none (setuid cleared them). */
static void set_caps(uint64_t keep, uid_t uid) {
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2] = { 0 };
  uint64_t set = uid == 0 ? keep & permitted_caps() : 0;
  d[0].effective = d[0].permitted = (uint32_t) set;
  d[1].effective = d[1].permitted = (uint32_t) (set >> 32);
  if (syscall(SYS_capset, &h, d) < 0) die(125, "setting capabilities", "");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) die(125, "clearing ambient capabilities", "");
}

/* Working directory, IDs, capabilities, filters and environment, then the command: never returns. */
static void enter_process(struct opts *o, int make_cwd) {
  if (make_cwd) make_dirs(o->cwd);
  if (o->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die(125, "setting no_new_privs", "");
  if (o->seccomp_deny && *o->seccomp_deny) load_seccomp(o->seccomp_deny);
  drop_bounding(o->caps);
  if (setgroups(o->ngroups, o->groups) < 0) die(125, "setting groups", "");
  if (setresgid(o->gid, o->gid, o->gid) < 0) die(125, "setting gid", "");
  if (setresuid(o->uid, o->uid, o->uid) < 0) die(125, "setting uid", "");
  set_caps(o->caps, o->uid);
  if (chdir(o->cwd) < 0) die(125, "changing directory to", o->cwd);
  clearenv();
  for (size_t i = 0; i < o->env_len; i += strlen(o->env + i) + 1)
    if (o->env[i] && putenv(o->env + i) != 0) die(125, "setting environment", o->env + i);
  execvp(o->argv[0], o->argv); /* PATH is now the container's */
  die(errno == ENOENT || errno == ENOTDIR ? 127 : 126, "executing", o->argv[0]);
}

/* ---- the terminal -------------------------------------------------------- */

/* A new pty of the devpts mounted at `ptmx`'s directory; the peer is opened without a path lookup. */
static int open_pty(const char *ptmx, int *peer) {
  int master = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die(125, "opening", ptmx);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die(125, "unlocking", ptmx);
  *peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (*peer < 0) die(125, "opening the terminal of", ptmx);
  return master;
}

/* In the child: the pty, owned by the command's user, becomes its controlling terminal and stdio. */
static void take_terminal(int peer, uid_t uid) {
  if (fchown(peer, uid, (gid_t) -1) < 0) die(125, "giving the terminal to uid", "");
  if (setsid() < 0) die(125, "starting a session", "");
  if (ioctl(peer, TIOCSCTTY, 0) < 0) die(125, "taking the terminal", "");
  for (int fd = 0; fd < 3; fd++)
    if (dup2(peer, fd) < 0) die(125, "attaching the terminal", "");
  if (peer > 2) close(peer);
}

struct relay {
  int master, in, out, ctl, sigfd;
  pid_t child;
  int status, exited;
  struct termios saved;
  int raw;
  char pending[4096], ctlbuf[64];
  size_t npending, nctl;
};

static void copy_winsize(int from, int to) {
  struct winsize ws;
  if (ioctl(from, TIOCGWINSZ, &ws) == 0) ioctl(to, TIOCSWINSZ, &ws);
}

/* "ROWS COLS\n" lines from the monitor. */
static void read_ctl(struct relay *r) {
  ssize_t n = read(r->ctl, r->ctlbuf + r->nctl, sizeof r->ctlbuf - 1 - r->nctl);
  if (n <= 0) {
    r->ctl = -1;
    return;
  }
  r->nctl += n;
  r->ctlbuf[r->nctl] = 0;
  char *nl;
  while ((nl = strchr(r->ctlbuf, '\n'))) {
    unsigned rows, cols;
    if (sscanf(r->ctlbuf, "%u %u", &rows, &cols) == 2) {
      struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };
      ioctl(r->master, TIOCSWINSZ, &ws);
    }
    r->nctl -= nl + 1 - r->ctlbuf;
    memmove(r->ctlbuf, nl + 1, r->nctl + 1);
  }
  if (r->nctl == sizeof r->ctlbuf - 1) r->nctl = 0; /* a line too long to be a size */
}

static int write_all(int fd, const char *buf, size_t n) {
  while (n) {
    ssize_t w = write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    buf += w;
    n -= w;
  }
  return 0;
}

/* Output of the command: false once the pty has no writer left. */
static int pump_master(struct relay *r) {
  char buf[16384];
  ssize_t n = read(r->master, buf, sizeof buf);
  if (n < 0 && errno == EAGAIN) return 1;
  if (n <= 0) return 0;
  if (write_all(r->out, buf, n) < 0) r->out = -1;
  return 1;
}

/* Input for the command, held while the pty's input queue is full. */
static void pump_input(struct relay *r, short revents) {
  if (r->npending == 0 && (revents & (POLLIN | POLLHUP))) {
    ssize_t n = read(r->in, r->pending, sizeof r->pending);
    if (n <= 0) r->in = -1;
    else r->npending = n;
  }
  if (r->npending) {
    ssize_t w = write(r->master, r->pending, r->npending);
    if (w > 0) {
      r->npending -= w;
      memmove(r->pending, r->pending + w, r->npending);
    } else if (w < 0 && errno != EAGAIN) r->npending = 0;
  }
}

static void on_signal(struct relay *r) {
  struct signalfd_siginfo si;
  if (read(r->sigfd, &si, sizeof si) != sizeof si) return;
  if (si.ssi_signo == SIGWINCH) copy_winsize(r->in, r->master);
  else if (si.ssi_signo == SIGCHLD) {
    if (waitpid(r->child, &r->status, WNOHANG) == r->child) r->exited = 1;
  } else if (r->master < 0) kill(r->child, (int) si.ssi_signo); /* no terminal: forward it */
}

static void relay_loop(struct relay *r) {
  int open_master = r->master >= 0;
  while (!r->exited || open_master) {
    struct pollfd p[4] = { { r->sigfd, POLLIN, 0 }, { open_master ? r->master : -1, POLLIN, 0 },
      { r->npending ? -1 : r->in, POLLIN, 0 }, { r->ctl, POLLIN, 0 } };
    if (r->npending && open_master) p[1].events |= POLLOUT;
    if (poll(p, 4, r->exited ? 100 : -1) < 0) {
      if (errno == EINTR) continue;
      die(125, "waiting for the command", "");
    }
    if (p[0].revents) on_signal(r);
    if (open_master && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) open_master = pump_master(r);
    if (open_master && (p[2].revents || (p[1].revents & POLLOUT))) pump_input(r, p[2].revents);
    if (p[3].revents) read_ctl(r);
    if (r->exited && open_master && !(p[1].revents & POLLIN)) open_master = 0; /* drained */
  }
}

static int block_signals(void) {
  sigset_t set;
  sigemptyset(&set);
  int sigs[] = { SIGCHLD, SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&set, sigs[i]);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) die(125, "blocking signals", "");
  int fd = signalfd(-1, &set, SFD_CLOEXEC);
  if (fd < 0) die(125, "signalfd", "");
  return fd;
}

static void unblock_signals(void) {
  sigset_t set;
  sigemptyset(&set);
  sigprocmask(SIG_SETMASK, &set, NULL);
}

/* Raw mode on a terminal stdin (docker exec -it from a shell), restored at exit. */
static void make_raw(struct relay *r) {
  if (!isatty(r->in) || tcgetattr(r->in, &r->saved) < 0) return;
  struct termios t = r->saved;
  cfmakeraw(&t);
  if (tcsetattr(r->in, TCSANOW, &t) == 0) r->raw = 1;
  copy_winsize(r->in, r->master);
}

/* Waits for the command, relaying its terminal if it has one; the exit status docker reports. */
static int supervise(int master, pid_t child, int sigfd, int ctl) {
  struct relay r = { .master = master, .in = master >= 0 ? 0 : -1, .out = 1, .ctl = master >= 0 ? ctl : -1, .sigfd = sigfd, .child = child };
  if (master >= 0) {
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    make_raw(&r);
  }
  relay_loop(&r);
  if (r.raw) tcsetattr(r.in, TCSANOW, &r.saved);
  return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
}

/* ---- the two modes ------------------------------------------------------- */

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

static int run_init(struct opts *o) {
  if (!o->root) usage("init needs --root");
  char ptmx[PATH_MAX];
  int peer = -1, master = -1;
  if (o->tty) {
    snprintf(ptmx, sizeof ptmx, "%s/dev/pts/ptmx", o->root);
    master = open_pty(ptmx, &peer);
  }
  if (o->lo) bring_up_loopback();
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
