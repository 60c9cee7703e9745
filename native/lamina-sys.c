// lamina-sys: reading xattrs, which Node's fs lacks, for commit, diff and export of a writable
// layer (src/container/upper/sys.ts), and opening a file inside an image's root (src/run/in-root.ts). Paths are strings or Buffers (names need not be UTF-8).
// Calls are synchronous and return a negative errno instead of throwing. Built by
// scripts/build-native.mjs.
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_PATH 4096
#define CHECK(call) if ((call) != napi_ok) { napi_throw_error(env, NULL, "lamina-sys: bad arguments"); return NULL; }

static napi_value int_value(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t len) {
  size_t got;
  bool is_buffer = false;
  void *data;
  if (napi_is_buffer(env, v, &is_buffer) == napi_ok && is_buffer) {
    if (napi_get_buffer_info(env, v, &data, &got) != napi_ok || got >= len || memchr(data, 0, got)) return -1;
    memcpy(buf, data, got);
    buf[got] = 0;
    return 0;
  }
  if (napi_get_value_string_utf8(env, v, buf, len, &got) != napi_ok) return -1;
  return got < len - 1 ? 0 : -1;
}

static napi_value args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return argc == want ? argv[0] : NULL;
}

// lgetxattr(path, name) -> Buffer | -errno
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[MAX_PATH], name[256];
  if (!args(env, info, 2, argv) || get_string(env, argv[0], path, sizeof path) || get_string(env, argv[1], name, sizeof name)) {
    napi_throw_error(env, NULL, "lamina-sys: lgetxattr(path, name)");
    return NULL;
  }
  for (;;) {
    ssize_t n = lgetxattr(path, name, NULL, 0);
    if (n < 0) return int_value(env, -errno);
    void *data;
    napi_value buf;
    CHECK(napi_create_buffer(env, n, &data, &buf));
    ssize_t m = n ? lgetxattr(path, name, data, n) : 0;
    if (m < 0 && errno == ERANGE) continue; // grew in between
    if (m < 0) return int_value(env, -errno);
    if (m == n) return buf;
    napi_value slice;
    CHECK(napi_create_buffer_copy(env, m, data, NULL, &slice));
    return slice;
  }
}

// llistxattr(path) -> string[] | -errno
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[MAX_PATH];
  if (!args(env, info, 1, argv) || get_string(env, argv[0], path, sizeof path)) {
    napi_throw_error(env, NULL, "lamina-sys: llistxattr(path)");
    return NULL;
  }
  for (;;) {
    ssize_t n = llistxattr(path, NULL, 0);
    if (n < 0) return int_value(env, -errno);
    char *list = malloc(n + 1);
    ssize_t m = n ? llistxattr(path, list, n) : 0;
    if (m < 0) {
      int e = errno;
      free(list);
      if (e == ERANGE) continue;
      return int_value(env, -e);
    }
    napi_value arr;
    napi_create_array(env, &arr);
    uint32_t i = 0;
    for (ssize_t off = 0; off < m; off += strlen(list + off) + 1) {
      napi_value s;
      napi_create_string_utf8(env, list + off, NAPI_AUTO_LENGTH, &s);
      napi_set_element(env, arr, i++, s);
    }
    free(list);
    return arr;
  }
}

// openInRoot(root, path) -> fd | -errno: opens `path` for reading as if `root` were "/", so neither
// ".." nor a symlink (absolute or relative) leads out of it (openat2 RESOLVE_IN_ROOT); non-blocking,
// so a FIFO planted in an image cannot hang the caller. For files the host reads from an image.
static napi_value js_openInRoot(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char root[MAX_PATH], path[MAX_PATH];
  if (!args(env, info, 2, argv) || get_string(env, argv[0], root, sizeof root) || get_string(env, argv[1], path, sizeof path)) {
    napi_throw_error(env, NULL, "lamina-sys: openInRoot(root, path)");
    return NULL;
  }
  int dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return int_value(env, -errno);
  struct open_how how = { .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  long fd;
  int err, tries = 0;
  do { // EAGAIN: a rename anywhere on the system raced a ".." step; the kernel asks for a retry
    fd = syscall(SYS_openat2, dir, path, &how, sizeof how);
    err = errno;
  } while (fd < 0 && err == EAGAIN && ++tries < 1000);
  close(dir);
  return int_value(env, fd < 0 ? -err : fd);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_default, NULL },
    { "llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_default, NULL },
    { "openInRoot", NULL, js_openInRoot, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value version;
  napi_create_uint32(env, 1, &version);
  napi_set_named_property(env, exports, "version", version);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
