/*
 * The container's namespaces and root: new mount, UTS, IPC (and network) namespaces, a read-only
 * /sys, a minimal /dev, the host files bound in (/etc/hosts..., volumes, the init), then, from
 * the container's PID 1, pivot_root and docker's masked and read-only paths.
 *
 * Every mountpoint inside the root is opened with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS)
 * and mounted on through /proc/self/fd: a symlink planted in an image never sends a mount
 * onto the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "exec.h"

static const char *const DEVICES[] = { "null", "zero", "full", "random", "urandom", "tty" };
static const char *const DEV_DIRS[] = { "pts", "shm", "mqueue" };
static const char *const DEV_LINKS[][2] = {
  { "pts/ptmx", "ptmx" }, { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
  { "/proc/self/fd/2", "stderr" },
};

/* `path` inside the root open as O_PATH, no symlink followed on the way; for mounting on. */
static int open_in_root(int root, const char *path) {
  struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
  long fd;
  do { /* EAGAIN: a rename somewhere raced the lookup */
    fd = syscall(SYS_openat2, root, path, &how, sizeof how);
  } while (fd < 0 && errno == EAGAIN);
  if (fd < 0) die(125, "cannot mount on", path);
  return (int) fd;
}

/* mount(2) onto `path` inside the root. */
static void mount_at(int root, const char *path, const char *src, const char *type, unsigned long flags, const char *data) {
  int fd = open_in_root(root, path);
  char target[32];
  snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
  if (mount(src, target, type, flags, data) < 0) die(125, "mounting on", path);
  close(fd);
}

static void bind_at(int root, const char *path, const char *src, int ro) {
  mount_at(root, path, src, NULL, MS_BIND | MS_REC, NULL);
  if (ro) mount_at(root, path, NULL, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
}

void enter_namespaces(const struct opts *o) {
  if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (o->net ? CLONE_NEWNET : 0)) < 0) die(125, "creating namespaces", "");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die(125, "making mounts private", "");
}

/* The container's /dev: a tmpfs with the host's harmless devices bound in, its own devpts, shm and mqueue. */
static void setup_dev(int root, const struct opts *o) {
  mount_at(root, "/dev", "tmpfs", "tmpfs", MS_NOSUID, "mode=755,size=65536k");
  int dev = open_in_root(root, "/dev"); /* our own tmpfs from here on */
  for (size_t i = 0; i < sizeof DEVICES / sizeof DEVICES[0]; i++) {
    int fd = openat(dev, DEVICES[i], O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0) die(125, "creating /dev/", DEVICES[i]);
    close(fd);
    char host[32], inside[32];
    snprintf(host, sizeof host, "/dev/%s", DEVICES[i]);
    snprintf(inside, sizeof inside, "/dev/%s", DEVICES[i]);
    bind_at(root, inside, host, 0);
  }
  for (size_t i = 0; i < sizeof DEV_DIRS / sizeof DEV_DIRS[0]; i++)
    if (mkdirat(dev, DEV_DIRS[i], 0755) < 0) die(125, "creating /dev/", DEV_DIRS[i]);
  mount_at(root, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  mount_at(root, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k");
  mount_at(root, "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  for (size_t i = 0; i < sizeof DEV_LINKS / sizeof DEV_LINKS[0]; i++)
    if (symlinkat(DEV_LINKS[i][0], dev, DEV_LINKS[i][1]) < 0) die(125, "linking /dev/", DEV_LINKS[i][1]);
  if (o->init_binary) {
    int fd = openat(dev, "init", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0755);
    if (fd < 0) die(125, "creating", "/dev/init");
    close(fd);
    bind_at(root, "/dev/init", o->init_binary, 1);
  }
  close(dev);
}

void setup_root(const struct opts *o) {
  int root = open(o->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) die(125, "opening the container root", o->root);
  mount_at(root, "/sys", "sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | (o->sysfs_rw ? 0 : MS_RDONLY), NULL);
  setup_dev(root, o);
  for (size_t i = 0; i < o->nbinds; i++) bind_at(root, o->binds[i].dst, o->binds[i].src, o->binds[i].ro);
  if (o->hostname && sethostname(o->hostname, strlen(o->hostname)) < 0) die(125, "setting the hostname", o->hostname);
  if (o->lo) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = { 0 };
    strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die(125, "reading the loopback interface", "");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die(125, "bringing up the loopback interface", "");
    close(s);
  }
  close(root);
}

/* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the container. */
void pivot_into(const char *root) {
  if (chdir(root) < 0) die(125, "entering", root);
  if (syscall(SYS_pivot_root, ".", ".") < 0) die(125, "pivot_root into", root);
  if (umount2(".", MNT_DETACH) < 0) die(125, "detaching the host's root", "");
  if (chdir("/") < 0) die(125, "entering", "/");
}

/* docker's maskedPaths: a file under /dev/null, a directory under an empty read-only tmpfs. */
void mask_path(const char *p) {
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
void readonly_path(const char *p) {
  if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (errno == ENOENT) return;
    die(125, "protecting", p);
  }
  if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die(125, "protecting", p);
}
