// The archive API (docker cp, docker export) and container sizes (ps -s)
// on a container record.
#include <fcntl.h>
#include <sys/stat.h>

#include <memory>

#include "common/fs.h"
#include "common/strings.h"
#include "container/archive.h"
#include "container/changes.h"
#include "container/overlay.h"
#include "container/user.h"

namespace berth::container {

namespace {

// Volumes and binds as the container sees them (tmpfs mounts are not on
// disk; Docker's cp does not see them either).
std::vector<CopyMount> copy_mounts(const Record& r) {
  std::vector<CopyMount> out;
  if (!r.mounts.is_array()) return out;
  for (const auto& m : r.mounts) {
    std::string type = m.value("Type", "");
    if (type != "volume" && type != "bind") continue;
    std::string src = m.value("Source", ""), dst = m.value("Destination", "");
    if (src.empty() || dst.empty() || dst[0] != '/') continue;
    UniqueFd fd(::open(src.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) continue;  // a file bind or a missing source: the rootfs shows through
    CopyMount cm;
    std::string clean;
    for (const auto& c : str::split(dst, '/'))
      if (!c.empty() && c != ".") clean += "/" + c;
    cm.destination = clean.empty() ? "/" : clean;
    cm.fd = std::move(fd);
    cm.read_only = !m.value("RW", true);
    out.push_back(std::move(cm));
  }
  return out;
}

bool live(const Record& r) {
  return r.state.status == StateStatus::running || r.state.status == StateStatus::paused ||
         r.state.status == StateStatus::restarting;
}

// The container's filesystem for one call.
struct CopyAccess {
  CopyRoot root;
  std::string merged;
  bool unmount = false;  // this call mounted the overlay
  StillStopped still_stopped;
  CopyAccess() = default;
  CopyAccess(const CopyAccess&) = delete;
  CopyAccess& operator=(const CopyAccess&) = delete;
  ~CopyAccess() {
    if (unmount && (!still_stopped || still_stopped())) {
      RootfsDirs d;
      d.merged = merged;
      (void)unmount_rootfs(d);
    }
  }
};

Result<std::unique_ptr<CopyAccess>> open_copy(const Record& rec, const std::string& data_root,
                                              const StillStopped& still_stopped, bool with_mounts) {
  auto a = std::make_unique<CopyAccess>();
  a->still_stopped = still_stopped;
  RootfsDirs rd = rootfs_dirs(data_root, rec.id);
  a->merged = rd.merged;
  if (!is_mount_point(rd.merged)) {
    if (live(rec)) return make_error(Errc::conflict, "container " + rec.id + " has no mounted rootfs");
    BERTH_TRY_VOID(mount_rootfs(rec.layer_dirs, rd));
    a->unmount = true;
  }
  UniqueFd root(::open(rd.merged.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error("open " + rd.merged);
  a->root = CopyRoot(std::move(root), with_mounts ? copy_mounts(rec) : std::vector<CopyMount>{});
  return a;
}

}  // namespace

Status archive_get(const Record& rec, const std::string& data_root, std::string_view ref, const std::string& path,
                   bool head_only, const std::function<Status(const std::string& stat_json)>& on_stat,
                   const Sink& body, const StillStopped& still_stopped) {
  if (path.empty()) return make_error(Errc::invalid, "bad parameter: pathcannot be empty");  // sic, dockerd
  auto a = BERTH_TRY(open_copy(rec, data_root, still_stopped, true));
  auto src = stat_archive_path(a->root, path);
  if (!src) {
    if (src.error().kind == Errc::not_found)
      return make_error(Errc::not_found, "Could not find the file " + path + " in container " + std::string(ref));
    return std::move(src).error();
  }
  BERTH_TRY_VOID(on_stat(path_stat_json(src->stat)));
  if (head_only) return ok();
  return write_archive(a->root, *src, body);
}

Status archive_put(const Record& rec, const std::string& data_root, std::string_view ref, const ExtractRequest& req,
                   int in_fd, const StillStopped& still_stopped) {
  if (req.path.empty()) return make_error(Errc::invalid, "bad parameter: pathcannot be empty");
  auto a = BERTH_TRY(open_copy(rec, data_root, still_stopped, true));
  ExtractRequest r = req;
  r.readonly_rootfs = rec.host_config.value("ReadonlyRootfs", false);
  if (r.chown) {
    // copyUIDGID: entries belong to the container's user.
    std::string user = rec.config.value("User", std::string());
    if (user.empty()) {
      r.uid = r.gid = 0;
    } else {
      auto u = resolve_user_in_rootfs(a->merged, user);
      if (!u) return std::move(u).error();
      r.uid = u->uid;
      r.gid = u->gid;
    }
  }
  auto st = extract_archive(a->root, r, in_fd);
  if (!st && st.error().kind == Errc::not_found)
    return make_error(Errc::not_found, "Could not find the file " + req.path + " in container " + std::string(ref));
  return st;
}

Status export_rootfs(const Record& rec, const std::string& data_root, const Sink& body,
                     const StillStopped& still_stopped) {
  auto a = BERTH_TRY(open_copy(rec, data_root, still_stopped, false));
  return write_export(a->root, body);
}

std::pair<int64_t, int64_t> container_sizes(const Record& r, const std::string& data_root) {
  int64_t rw = dir_size(rootfs_dirs(data_root, r.id).upper);
  int64_t image = 0;
  for (const auto& l : r.layer_dirs) image += dir_size(l);
  return {rw, image + rw};
}

}  // namespace berth::container
