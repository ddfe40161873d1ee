#include "sys/path_in_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <climits>
#include <cstring>

namespace berth::sys {

int open_in_root(int root_fd, const char* path, int flags, mode_t mode) noexcept {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long r = ::syscall(SYS_openat2, root_fd, path, &how, sizeof how);
    if (r >= 0) return static_cast<int>(r);
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
}

namespace {
// Ensure the directory `buf` (NUL-terminated prefix) exists inside the root.
int ensure_dir(int root_fd, char* buf, size_t len) noexcept {
  int fd = open_in_root(root_fd, len == 0 ? "/" : buf, O_PATH | O_DIRECTORY);
  if (fd >= 0 || errno != ENOENT) return fd;
  // Create the last component under its (existing) parent.
  size_t slash = len;
  while (slash > 0 && buf[slash - 1] != '/') --slash;
  char saved = buf[slash];
  buf[slash] = '\0';
  int pfd = open_in_root(root_fd, slash == 0 ? "/" : buf, O_PATH | O_DIRECTORY);
  buf[slash] = saved;
  if (pfd < 0) return -1;
  if (::mkdirat(pfd, buf + slash, 0755) != 0 && errno != EEXIST) {
    int e = errno;
    ::close(pfd);
    errno = e;
    return -1;
  }
  ::close(pfd);
  return open_in_root(root_fd, buf, O_PATH | O_DIRECTORY);
}
}  // namespace

int parent_in_root(int root_fd, const char* path, const char** leaf) noexcept {
  char buf[PATH_MAX];
  size_t n = std::strlen(path);
  if (n == 0 || n >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(buf, path, n + 1);
  while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
  size_t last = n;
  while (last > 0 && buf[last - 1] != '/') --last;
  *leaf = path + last;
  // Walk every directory prefix of the parent, creating as needed.
  int fd = -1;
  for (size_t i = 1; i <= last; ++i) {
    if (i == last || buf[i] == '/') {
      size_t plen = (i == last) ? (last > 1 ? last - 1 : 0) : i;
      if (plen == 0) continue;
      char saved = buf[plen];
      buf[plen] = '\0';
      if (fd >= 0) ::close(fd);
      fd = ensure_dir(root_fd, buf, plen);
      buf[plen] = saved;
      if (fd < 0) return -1;
    }
  }
  if (fd < 0) fd = open_in_root(root_fd, "/", O_PATH | O_DIRECTORY);
  return fd;
}

int create_in_root(int root_fd, const char* path, bool leaf_is_dir, mode_t mode) noexcept {
  int fd = open_in_root(root_fd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT) return fd;
  const char* leaf = nullptr;
  int pfd = parent_in_root(root_fd, path, &leaf);
  if (pfd < 0) return -1;
  int r;
  if (leaf_is_dir) {
    r = ::mkdirat(pfd, leaf, mode);
  } else {
    int f = ::openat(pfd, leaf, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    r = f >= 0 ? ::close(f) : -1;
  }
  int e = errno;
  ::close(pfd);
  if (r != 0 && e != EEXIST) {
    errno = e;
    return -1;
  }
  return open_in_root(root_fd, path, O_PATH);
}

}  // namespace berth::sys
