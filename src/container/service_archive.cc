// The archive API (docker cp, docker export) and container sizes (ps -s)
// on a container record.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <thread>

#include "common/fs.h"
#include "common/strings.h"
#include "container/archive.h"
#include "container/changes.h"
#include "container/overlay.h"
#include "container/user.h"

namespace berth::container {

namespace {

// A volume or bind of the container (tmpfs mounts are not on disk; Docker's
// cp does not see them either).
struct SourceMount {
  std::string source, destination;
  bool read_only = false;
};

std::string clean_dest(const std::string& dst) {
  std::string clean;
  for (const auto& c : str::split(dst, '/'))
    if (!c.empty() && c != ".") clean += "/" + c;
  return clean.empty() ? "/" : clean;
}

std::vector<SourceMount> source_mounts(const Record& r) {
  std::vector<SourceMount> out;
  if (!r.mounts.is_array()) return out;
  for (const auto& m : r.mounts) {
    std::string type = m.value("Type", "");
    if (type != "volume" && type != "bind") continue;
    std::string src = m.value("Source", ""), dst = m.value("Destination", "");
    if (src.empty() || dst.empty() || dst[0] != '/' || clean_dest(dst) == "/") continue;
    out.push_back({src, clean_dest(dst), !m.value("RW", true)});
  }
  // Parents before children, as the runtime mounts them.
  std::stable_sort(out.begin(), out.end(), [](const SourceMount& x, const SourceMount& y) {
    return std::count(x.destination.begin(), x.destination.end(), '/') <
           std::count(y.destination.begin(), y.destination.end(), '/');
  });
  return out;
}

std::vector<CopyMount> copy_mounts(const std::vector<SourceMount>& ms) {
  std::vector<CopyMount> out;
  for (const auto& m : ms) out.push_back({m.destination, m.read_only});
  return out;
}

bool live(const Record& r) {
  return r.state.status == StateStatus::running || r.state.status == StateStatus::paused ||
         r.state.status == StateStatus::restarting;
}

int open_in_root(int rootfd, const std::string& rel, uint64_t flags) {
  struct open_how how {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long r = ::syscall(SYS_openat2, rootfd, rel.c_str(), &how, sizeof how);
    if (r >= 0) return static_cast<int>(r);
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
}

// Binds one volume or bind source onto its destination under the rootfs
// (resolved in the root; a missing mount point is created as the runtime
// would, a directory or an empty file as the source is). Runs in the
// private mount namespace only.
Status bind_into(int rootfd, const SourceMount& m) {
  struct stat sst {};
  if (::stat(m.source.c_str(), &sst) != 0) return ok();  // a missing source: the rootfs shows through
  std::string rel = m.destination.substr(1);
  UniqueFd target(open_in_root(rootfd, rel, O_PATH));
  if (!target && errno == ENOENT) {
    auto slash = rel.rfind('/');
    std::string dir = slash == std::string::npos ? "." : rel.substr(0, slash);
    std::string leaf = slash == std::string::npos ? rel : rel.substr(slash + 1);
    UniqueFd parent(open_in_root(rootfd, dir, O_PATH | O_DIRECTORY));
    if (!parent) return ok();  // no parent: Docker's cp would not find it either
    UniqueFd pdir(::openat(parent.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!pdir) return ok();
    if (S_ISDIR(sst.st_mode)) (void)::mkdirat(pdir.get(), leaf.c_str(), 0755);
    else UniqueFd(::openat(pdir.get(), leaf.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
    target.reset(open_in_root(rootfd, rel, O_PATH));
  }
  if (!target) return ok();
  std::string at = "/proc/self/fd/" + std::to_string(target.get());
  if (::mount(m.source.c_str(), at.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return sys_error("bind " + m.source + " on " + m.destination);
  if (m.read_only) {
    UniqueFd mounted(open_in_root(rootfd, rel, O_PATH));
    std::string mat = "/proc/self/fd/" + std::to_string(mounted.get());
    if (!mounted || ::mount(nullptr, mat.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
      return sys_error("remount read-only " + m.destination);
  }
  return ok();
}

// Runs `fn` with the container's filesystem as it sees it: a running
// container's /proc/<pid>/root, else its merged rootfs (mounted for the
// call) seen from a thread with a
// private mount namespace in which its volumes and binds are bound in
// place. That namespace ends with the thread; the host never sees them.
Status with_copy_root(const Record& rec, const std::string& data_root, bool with_mounts, const std::function<Status(const CopyRoot&, const std::string& merged)>& fn) {
  RootfsDirs rd = rootfs_dirs(data_root, rec.id);
  auto ms = with_mounts ? source_mounts(rec) : std::vector<SourceMount>{};
  if (with_mounts && live(rec) && rec.state.pid > 0) {
    UniqueFd root(::open(("/proc/" + std::to_string(rec.state.pid) + "/root").c_str(),
                         O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (root) return fn(CopyRoot(std::move(root), copy_mounts(ms)), rd.merged);
  }
  bool unmount = false;
  if (!is_mount_point(rd.merged)) {
    if (live(rec)) return make_error(Errc::conflict, "container " + rec.id + " has no mounted rootfs");
    BERTH_TRY_VOID(mount_rootfs(rec.layer_dirs, rd));
    unmount = true;
  }
  ScopeExit cleanup([&] {
    if (unmount) (void)unmount_rootfs(rd);
  });
  if (ms.empty()) {
    UniqueFd root(::open(rd.merged.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sys_error("open " + rd.merged);
    return fn(CopyRoot(std::move(root), {}), rd.merged);
  }
  Status result;
  std::thread t([&] {
    if (::unshare(CLONE_FS | CLONE_NEWNS) != 0) {
      result = sys_error("unshare mount namespace");
      return;
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
      result = sys_error("make / a slave mount");
      return;
    }
    UniqueFd rootfd(::open(rd.merged.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootfd) {
      result = sys_error("open " + rd.merged);
      return;
    }
    for (const auto& m : ms)
      if (auto st = bind_into(rootfd.get(), m); !st) {
        result = std::move(st);
        return;
      }
    // The merged dir again: the binds are below it, seen through a fresh fd.
    UniqueFd root(::open(rd.merged.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) {
      result = sys_error("open " + rd.merged);
      return;
    }
    result = fn(CopyRoot(std::move(root), copy_mounts(ms)), rd.merged);
  });
  t.join();
  return result;
}

}  // namespace

Status archive_get(const Record& rec, const std::string& data_root, std::string_view ref, const std::string& path,
                   bool head_only, const std::function<Status(const std::string& stat_json)>& on_stat,
                   const Sink& body) {
  if (path.empty()) return make_error(Errc::invalid, "bad parameter: pathcannot be empty");  // sic, dockerd
  return with_copy_root(rec, data_root, true, [&](const CopyRoot& root, const std::string&) -> Status {
    auto src = stat_archive_path(root, path);
    if (!src) {
      if (src.error().kind == Errc::not_found)
        return make_error(Errc::not_found, "Could not find the file " + path + " in container " + std::string(ref));
      return std::move(src).error();
    }
    BERTH_TRY_VOID(on_stat(path_stat_json(src->stat)));
    if (head_only) return ok();
    return write_archive(root, *src, body);
  });
}

Status archive_put(const Record& rec, const std::string& data_root, std::string_view ref, const ExtractRequest& req,
                   int in_fd) {
  if (req.path.empty()) return make_error(Errc::invalid, "bad parameter: pathcannot be empty");
  return with_copy_root(rec, data_root, true, [&](const CopyRoot& root, const std::string& merged) -> Status {
    ExtractRequest r = req;
    r.readonly_rootfs = rec.host_config.value("ReadonlyRootfs", false);
    if (r.chown) {
      // copyUIDGID: entries belong to the container's user.
      std::string user = rec.config.value("User", std::string());
      if (user.empty()) {
        r.uid = r.gid = 0;
      } else {
        auto u = resolve_user_in_rootfs(merged, user);
        if (!u) return std::move(u).error();
        r.uid = u->uid;
        r.gid = u->gid;
      }
    }
    auto st = extract_archive(root, r, in_fd);
    if (!st && st.error().kind == Errc::not_found)
      return make_error(Errc::not_found, "Could not find the file " + req.path + " in container " + std::string(ref));
    return st;
  });
}

Status export_rootfs(const Record& rec, const std::string& data_root, const Sink& body) {
  return with_copy_root(rec, data_root, false,
                        [&](const CopyRoot& root, const std::string&) { return write_export(root, body); });
}

std::pair<int64_t, int64_t> container_sizes(const Record& r, const std::string& data_root) {
  int64_t rw = dir_size(rootfs_dirs(data_root, r.id).upper);
  int64_t image = 0;
  for (const auto& l : r.layer_dirs) image += dir_size(l);
  return {rw, image + rw};
}

}  // namespace berth::container
