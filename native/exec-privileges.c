/*
 * Who the container's process runs as and with which privileges: its working directory, a seccomp
 * filter, docker's capability set, no_new_privs on request, its IDs and environment; then exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "exec.h"

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
void enter_process(struct opts *o, int make_cwd) {
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
