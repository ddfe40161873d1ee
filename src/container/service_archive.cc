// The archive API (docker cp, docker export) and container sizes (ps -s).
#include <fcntl.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "common/strings.h"
#include "container/changes.h"
#include "container/overlay.h"
#include "container/service.h"
#include "container/user.h"

namespace berth::container {

namespace {

// Volumes and binds as the container sees them (tmpfs mounts are not on
// disk; Docker's cp does not see them either).
std::vector<CopyMount> copy_mounts(const Record& r) {
  std::vector<CopyMount> out;
  for (const auto& m : mounts_json(r)) {
    std::string type = m.value("Type", "");
    if (type != "volume" && type != "bind") continue;
    std::string src = m.value("Source", ""), dst = m.value("Destination", "");
    if (src.empty() || dst.empty() || dst[0] != '/') continue;
    UniqueFd fd(::open(src.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) continue;  // a file bind or a missing source: the rootfs shows through
    CopyMount cm;
    // Lexically clean the destination.
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

}  // namespace

ContainerService::CopyAccess::~CopyAccess() {
  if (unmount) {
    RootfsDirs d;
    d.merged = merged;
    (void)unmount_rootfs(d);
  }
}

Result<std::unique_ptr<ContainerService::CopyAccess>> ContainerService::open_copy(std::string_view ref) {
  EntryPtr e = BERTH_TRY(find(ref));
  auto a = std::make_unique<CopyAccess>();
  {
    std::lock_guard g(mu_);
    a->rec = e->rec;
  }
  if (!is_running_status(a->rec.state.status)) {
    // Stopped: no start, exit processing or removal while the overlay is
    // mounted for this call.
    a->op = std::unique_lock(e->op_mu);
    std::lock_guard g(mu_);
    if (e->removed) return make_error(Errc::not_found, "No such container: " + std::string(ref));
    a->rec = e->rec;
  }
  RootfsDirs rd = rootfs_dirs(opts_.paths.data_root, a->rec.id);
  a->merged = rd.merged;
  if (!is_mount_point(rd.merged)) {
    if (is_running_status(a->rec.state.status))
      return make_error(Errc::conflict, "container " + a->rec.id + " has no mounted rootfs");
    BERTH_TRY_VOID(mount_rootfs(a->rec.layer_dirs, rd));
    a->unmount = true;
  }
  UniqueFd root(::open(rd.merged.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error("open " + rd.merged);
  a->root = CopyRoot(std::move(root), copy_mounts(a->rec));
  return a;
}

Status ContainerService::archive_get(std::string_view ref, const std::string& path, bool head_only,
                                     const std::function<Status(const std::string& stat_json)>& on_stat,
                                     const Sink& body) {
  if (path.empty()) return make_error(Errc::invalid, "bad parameter: pathcannot be empty");  // sic, dockerd
  auto a = BERTH_TRY(open_copy(ref));
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

Status ContainerService::archive_put(std::string_view ref, const ExtractRequest& req, int in_fd) {
  if (req.path.empty()) return make_error(Errc::invalid, "bad parameter: pathcannot be empty");
  auto a = BERTH_TRY(open_copy(ref));
  ExtractRequest r = req;
  r.readonly_rootfs = a->rec.host_config.value("ReadonlyRootfs", false);
  if (r.chown) {
    // copyUIDGID: entries belong to the container's user.
    std::string user = a->rec.config.value("User", std::string());
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

Status ContainerService::export_rootfs(std::string_view ref, const Sink& body) {
  auto a = BERTH_TRY(open_copy(ref));
  // Export is the container's own filesystem: no volumes (as Docker).
  UniqueFd root(::open(a->merged.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error("open " + a->merged);
  CopyRoot rootfs_only(std::move(root), {});
  return write_export(rootfs_only, body);
}

std::pair<int64_t, int64_t> ContainerService::sizes(const Record& r) {
  int64_t rw = dir_size(rootfs_dirs(opts_.paths.data_root, r.id).upper);
  int64_t image = 0;
  for (const auto& l : r.layer_dirs) image += dir_size(l);
  return {rw, image + rw};
}

}  // namespace berth::container
