#include "common/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

namespace berth::fs {

namespace {
std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string s(12, '0');
  for (auto& c : s) c = hex[rng() & 15];
  return s;
}
}  // namespace

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Status write_file_atomic(const std::string& path, std::string_view data, Durability d,
                         mode_t mode) {
  std::string tmp = path + ".tmp." + random_suffix();
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return sys_error("open " + tmp);
  ScopeExit rm([&] { ::unlink(tmp.c_str()); });
  BERTH_TRY_VOID(write_all(fd.get(), data));
  if (d == Durability::fsync && ::fsync(fd.get()) != 0) return sys_error("fsync " + tmp);
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return sys_error("rename " + path);
  rm.dismiss();
  if (d == Durability::fsync) {
    UniqueFd dfd(::open(dirname(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd) ::fsync(dfd.get());
  }
  return ok();
}

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_error("open " + path);
  // Read straight into the string, sized from fstat (+1 to see EOF in the
  // same pass); /proc and sysfs files report 0 and grow 4 KiB at a time.
  // No stack buffer: a 64 KiB one touched up to 16 fresh stack pages in
  // every short-lived process (the shim, the runtime), a trapped fault each.
  struct stat st {};
  size_t want = ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0
                    ? static_cast<size_t>(st.st_size) + 1
                    : 4096;
  std::string out;
  size_t len = 0;
  for (;;) {
    if (out.size() - len < 1) out.resize(len + want);
    ssize_t n = ::read(fd.get(), out.data() + len, out.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read " + path);
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
    want = 4096 > len ? 4096 : len;  // a file that grew: double
  }
  out.resize(len);
  return out;
}

Status mkdir_p(const std::string& path, mode_t mode) {
  if (path.empty()) return ok();
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    cur = path.substr(0, j);
    i = j + 1;
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return sys_error("mkdir " + cur);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return sys_error("stat " + path);
  if (!S_ISDIR(st.st_mode)) return make_error(Errc::conflict, path + " is not a directory");
  return ok();
}

namespace {
Status remove_at(int dirfd, const char* name, dev_t dev) {
  struct stat st {};
  if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return ok();
    return sys_error(std::string("stat ") + name);
  }
  if (S_ISDIR(st.st_mode)) {
    if (st.st_dev != dev) return make_error(Errc::conflict, std::string(name) + " is a mount point");
    int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return sys_error(std::string("open ") + name);
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      return sys_error("fdopendir");
    }
    Status st2;
    while (auto* e = ::readdir(d)) {
      if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
      auto r = remove_at(::dirfd(d), e->d_name, dev);
      if (!r) {
        st2 = r;
        break;
      }
    }
    ::closedir(d);
    if (!st2) return st2;
    if (::unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
      return sys_error(std::string("rmdir ") + name);
    return ok();
  }
  if (::unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
    return sys_error(std::string("unlink ") + name);
  return ok();
}
}  // namespace

Status remove_all(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? ok() : sys_error("stat " + path);
  return remove_at(AT_FDCWD, path.c_str(), st.st_dev);
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::string dirname(const std::string& path) {
  auto p = path.find_last_of('/');
  if (p == std::string::npos) return ".";
  if (p == 0) return "/";
  return path.substr(0, p);
}

std::string basename(const std::string& path) {
  auto p = path.find_last_of('/');
  return p == std::string::npos ? path : path.substr(p + 1);
}

std::string join(std::string_view a, std::string_view b) {
  std::string out(a);
  if (!out.empty() && out.back() != '/' && (b.empty() || b.front() != '/')) out += '/';
  if (!out.empty() && out.back() == '/' && !b.empty() && b.front() == '/') b.remove_prefix(1);
  out += b;
  return out;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
    out.emplace_back(e->d_name);
  }
  ::closedir(d);
  return out;
}

std::string self_exe_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  buf[n] = 0;
  return dirname(buf);
}

Result<std::string> find_helper_binary(const std::string& name) {
  std::string local = join(self_exe_dir(), name);
  if (::access(local.c_str(), X_OK) == 0) return local;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find(':', i);
    if (j == std::string::npos) j = p.size();
    std::string cand = join(p.substr(i, j - i), name);
    if (j > i && ::access(cand.c_str(), X_OK) == 0) return cand;
    i = j + 1;
  }
  return make_error(Errc::not_found, name + ": executable not found next to " + self_exe_dir() +
                                         " nor on PATH");
}

}  // namespace berth::fs
