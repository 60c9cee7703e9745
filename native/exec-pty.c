/*
 * The terminal of a container's process: a pty of the container's own devpts, relayed between
 * the command and this process's stdio (raw, when that is a terminal too), window sizes from the
 * monitor or from SIGWINCH; and, with or without one, waiting for the command to exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "exec.h"

/* A new pty of the devpts mounted at `ptmx`'s directory; the peer is opened without a path lookup. */
int open_pty(const char *ptmx, int *peer) {
  int master = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die(125, "opening", ptmx);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die(125, "unlocking", ptmx);
  *peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (*peer < 0) die(125, "opening the terminal of", ptmx);
  return master;
}

/* In the child: the pty, owned by the command's user, becomes its controlling terminal and stdio. */
void take_terminal(int peer, uid_t uid) {
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

int write_all(int fd, const char *buf, size_t n) {
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

int block_signals(void) {
  sigset_t set;
  sigemptyset(&set);
  int sigs[] = { SIGCHLD, SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&set, sigs[i]);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) die(125, "blocking signals", "");
  int fd = signalfd(-1, &set, SFD_CLOEXEC);
  if (fd < 0) die(125, "signalfd", "");
  return fd;
}

void unblock_signals(void) {
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
int supervise(int master, pid_t child, int sigfd, int ctl) {
  struct relay r = { .master = master, .in = master >= 0 ? 0 : -1, .out = 1, .ctl = master >= 0 ? ctl : -1, .sigfd = sigfd, .child = child };
  if (master >= 0) {
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    make_raw(&r);
  }
  relay_loop(&r);
  if (r.raw) tcsetattr(r.in, TCSANOW, &r.saved);
  return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
}
