/* lamina-mountd: serves one lamina mount over libfuse3's low-level API, with no JavaScript in the
 * request path. Started and supervised by src/fuse/native-server.ts.
 *
 *   lamina-mountd --view FILE --store DIR [--upper DIR --work DIR] [-o OPTS]... [--ready-fd N] [--timeout SEC] [--debug] MOUNTPOINT
 *   lamina-mountd --check --view FILE      validate a view file and print a summary
 *
 * It mounts, answers "ready" on --ready-fd once the kernel's INIT is answered, and serves until
 * SIGTERM/SIGINT/SIGHUP (then it detaches the mount and exits when the kernel lets go of it) or
 * until the mount goes away. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "server.h"

struct options {
	const char *view, *store, *mountpoint, *upper, *work;
	char opts[4096];
	int ready_fd, debug, check;
	double timeout;
};

__attribute__((format(printf, 1, 2)))
static void logf_(const char *fmt, ...)
{
	char when[32];
	time_t now = time(NULL);
	va_list ap;
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(stderr, "%s lamina-mountd[%d]: ", when, (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(void)
{
	fprintf(stderr, "usage: lamina-mountd --view FILE --store DIR [--upper DIR --work DIR] [-o OPTS]... [--ready-fd N] [--timeout SEC] [--debug] MOUNTPOINT\n"
			"       lamina-mountd --check --view FILE\n");
	exit(2);
}

static int add_opts(struct options *o, const char *more)
{
	size_t have = strlen(o->opts);
	int n = snprintf(o->opts + have, sizeof o->opts - have, "%s%s", have ? "," : "", more);
	return n < 0 || (size_t)n >= sizeof o->opts - have ? E2BIG : 0;
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "view", required_argument, 0, 'v' }, { "store", required_argument, 0, 's' },
		{ "upper", required_argument, 0, 'u' }, { "work", required_argument, 0, 'w' },
		{ "ready-fd", required_argument, 0, 'r' }, { "timeout", required_argument, 0, 't' },
		{ "debug", no_argument, 0, 'd' }, { "check", no_argument, 0, 'c' }, { 0, 0, 0, 0 },
	};
	int c;
	char *end;
	memset(o, 0, sizeof *o);
	o->ready_fd = -1;
	o->timeout = 86400.0 * 365;
	while ((c = getopt_long(argc, argv, "o:", longs, NULL)) != -1) {
		switch (c) {
		case 'v': o->view = optarg; break;
		case 's': o->store = optarg; break;
		case 'u': o->upper = optarg; break;
		case 'w': o->work = optarg; break;
		case 'd': o->debug = 1; break;
		case 'c': o->check = 1; break;
		case 'o': if (add_opts(o, optarg)) usage(); break;
		case 'r': o->ready_fd = (int)strtol(optarg, &end, 10); if (*end || o->ready_fd < 0) usage(); break;
		case 't': o->timeout = strtod(optarg, &end); if (*end || o->timeout < 0) usage(); break;
		default: usage();
		}
	}
	if (!o->view || (!o->check && (optind != argc - 1 || !o->store)) || !o->upper != !o->work)
		usage();
	o->mountpoint = o->check ? NULL : argv[optind];
}

static int open_view(struct server *s, const char *path)
{
	char err[256] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;
	if (fd < 0) {
		logf_("view %s: %s", path, strerror(errno));
		return errno;
	}
	e = view_map(&s->view, fd, err, sizeof err);
	close(fd);
	if (e)
		logf_("view %s: %s", path, err[0] ? err : strerror(e));
	return e;
}

/* Opens every layer tar named by the view, relative to the store root, and checks its size. */
static int open_layers(struct server *s, const char *store)
{
	const struct view *v = &s->view;
	int root = open(store, O_PATH | O_DIRECTORY | O_CLOEXEC), err = 0;
	if (root < 0) {
		logf_("store %s: %s", store, strerror(errno));
		return errno;
	}
	s->layers = calloc(v->h->layer_count + 1, sizeof *s->layers);
	for (uint32_t i = 0; s->layers && i < v->h->layer_count; i++)
		s->layers[i] = (struct layer_file){ .fd = -1, .dio_fd = -1 };
	for (uint32_t i = 0; s->layers && i < v->h->layer_count && !err; i++) {
		const struct view_layer *l = &v->layers[i];
		const char *why = NULL;
		char rel[4096];
		snprintf(rel, sizeof rel, "%.*s", (int)l->path_len, (const char *)view_name(v, l->path_off));
		if ((err = layer_file_open(&s->layers[i], root, rel, l->size, &why)))
			logf_("layer %s in %s: %s", rel, store, why ? why : strerror(err));
	}
	close(root);
	return !s->layers ? ENOMEM : err ? EIO : 0;
}

static void close_layers(struct server *s)
{
	for (uint32_t i = 0; s->layers && i < s->view.h->layer_count; i++)
		layer_file_close(&s->layers[i]);
	free(s->layers);
	s->layers = NULL;
}

/* A container mount holds an fd for every upper inode the kernel has looked up: allow as many
 * as the system does (fs.nr_open), not the 1,024 a shell starts with. */
static void raise_fd_limit(void)
{
	struct rlimit r = { 0, 0 };
	unsigned long max = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "r");
	if (f && fscanf(f, "%lu", &max) == 1 && max > 0)
		r.rlim_cur = r.rlim_max = max;
	if (f)
		fclose(f);
	if (!r.rlim_cur || setrlimit(RLIMIT_NOFILE, &r)) {
		getrlimit(RLIMIT_NOFILE, &r);
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

void server_ready(struct server *s)
{
	if (s->ready_fd < 0)
		return;
	if (write(s->ready_fd, "ready\n", 6) != 6)
		logf_("ready fd: %s", strerror(errno));
	close(s->ready_fd);
	s->ready_fd = -1;
}

struct stopper {
	struct fuse_session *se;
	const char *mountpoint;
	sigset_t signals;
};

/* Waits for a stop signal, then detaches the mount: the loop ends when the kernel drops the connection. */
static void *stop_on_signal(void *arg)
{
	struct stopper *st = arg;
	int sig;
	if (sigwait(&st->signals, &sig))
		return NULL;
	logf_("stopping: %s", strsignal(sig));
	fuse_session_exit(st->se);
	if (umount2(st->mountpoint, MNT_DETACH) && errno != EINVAL)
		logf_("unmounting %s: %s", st->mountpoint, strerror(errno));
	return NULL;
}

static int serve(struct server *s, const struct options *o)
{
	struct stopper st = { .mountpoint = o->mountpoint };
	pthread_t stopper;
	int err;
	sigemptyset(&st.signals);
	sigaddset(&st.signals, SIGTERM);
	sigaddset(&st.signals, SIGINT);
	sigaddset(&st.signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &st.signals, NULL); /* every thread inherits the mask; only the stopper waits */
	signal(SIGPIPE, SIG_IGN);
	if (fuse_session_mount(s->se, o->mountpoint)) {
		logf_("mounting %s failed", o->mountpoint);
		return 1;
	}
	st.se = s->se;
	pthread_create(&stopper, NULL, stop_on_signal, &st);
	pthread_detach(stopper);
	logf_("serving %s (%llu inodes, %u layers)", o->mountpoint, (unsigned long long)s->view.h->inode_count, s->view.h->layer_count);
	err = loop_serve(s->se);
	if (err)
		logf_("reading requests: %s", strerror(err));
	fuse_session_unmount(s->se);
	logf_("stopped");
	return err ? 1 : 0;
}

/* Opens the layers, mounts, and serves until the mount goes; the exit status. */
static int mount_and_serve(struct server *s, const struct options *o, char *argv0)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	int rc;
	raise_fd_limit();
	if (open_layers(s, o->store))
		return 3;
	s->timeout = o->timeout;
	s->ready_fd = o->ready_fd;
	s->debug = o->debug;
	if (fuse_opt_add_arg(&args, argv0) || (o->opts[0] && (fuse_opt_add_arg(&args, "-o") || fuse_opt_add_arg(&args, o->opts))) ||
	    (o->debug && fuse_opt_add_arg(&args, "-d"))) {
		fuse_opt_free_args(&args);
		return 1;
	}
	if (o->upper && (rc = overlay_open(s, o->upper, o->work))) {
		logf_("upper %s, work %s: %s", o->upper, o->work, strerror(rc));
		fuse_opt_free_args(&args);
		return 3;
	}
	s->se = fuse_session_new(&args, o->upper ? &overlay_ops : &lower_ops, sizeof lower_ops, s);
	fuse_opt_free_args(&args);
	if (!s->se) {
		logf_("bad mount options: %s", o->opts);
		return 2;
	}
	rc = serve(s, o);
	fuse_session_destroy(s->se);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;
	struct server s = { .ready_fd = -1, .upper_fd = -1, .work_fd = -1 };
	int rc;
	parse_args(argc, argv, &o);
	if (open_view(&s, o.view))
		return 3;
	if (o.check) {
		printf("view %s: %llu inodes, %llu dirents, %u layers\n", o.view, (unsigned long long)s.view.h->inode_count,
		       (unsigned long long)s.view.h->dirent_count, s.view.h->layer_count);
		rc = 0;
	} else {
		rc = mount_and_serve(&s, &o, argv[0]);
	}
	if (o.upper)
		overlay_close(&s); /* everything freed: a sanitizer run reports only real leaks */
	close_layers(&s);
	view_unmap(&s.view);
	return rc;
}
