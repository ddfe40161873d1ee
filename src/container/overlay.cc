#include "container/overlay.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "container/ipc_shm.h"
#include "snapshot/overlay_mount.h"

namespace berth::container {

RootfsDirs rootfs_dirs(const std::string& data_root, const std::string& id) {
  RootfsDirs d;
  d.base = data_root + "/overlay/" + id;
  d.upper = d.base + "/diff";
  d.work = d.base + "/work";
  d.merged = d.base + "/merged";
  return d;
}

std::string overlay_options(const std::vector<std::string>& layers, const RootfsDirs& d) {
  std::string lower;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    if (!lower.empty()) lower += ':';
    lower += *it;
  }
  return "lowerdir=" + lower + ",upperdir=" + d.upper + ",workdir=" + d.work;
}

Status create_rootfs_dirs(const RootfsDirs& d) {
  BERTH_TRY_VOID(fs::mkdir_p(d.upper, 0755));
  BERTH_TRY_VOID(fs::mkdir_p(d.work, 0700));
  BERTH_TRY_VOID(fs::mkdir_p(d.merged, 0755));
  return ok();
}

bool is_mount_point(const std::string& path) {
  struct stat a {}, b {};
  if (::stat(path.c_str(), &a) != 0) return false;
  if (::stat((path + "/..").c_str(), &b) != 0) return false;
  return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

Status mount_rootfs(const std::vector<std::string>& layers, const RootfsDirs& d) {
  if (layers.empty()) return make_error(Errc::invalid, "image has no layers");
  if (is_mount_point(d.merged)) return ok();
  BERTH_TRY_VOID(create_rootfs_dirs(d));
  // Deep images whose options pass a page go through "lowerdir+".
  return snapshot::mount_overlay(snapshot::OverlaySpec{layers, d.upper, d.work}, d.merged);
}

Status unmount_rootfs(const RootfsDirs& d) {
  for (int i = 0; i < 8 && is_mount_point(d.merged); ++i) {
    if (::umount2(d.merged.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
      return sys_error("unmount " + d.merged);
  }
  return ok();
}

std::string ipc_shm_path(const std::string& container_dir) { return container_dir + "/mounts/shm"; }

Status mount_ipc_shm(const std::string& path, int64_t size) {
  if (is_mount_point(path)) return ok();
  BERTH_TRY_VOID(fs::mkdir_p(path));
  if (size <= 0) size = 64 * 1024 * 1024;
  std::string opts = "mode=1777,size=" + std::to_string(size);
  if (::mount("shm", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts.c_str()) != 0)
    return sys_error("mount shm tmpfs at " + path);
  return ok();
}

void unmount_ipc_shm(const std::string& path) {
  for (int i = 0; i < 8 && is_mount_point(path); ++i)
    if (::umount2(path.c_str(), MNT_DETACH) != 0) break;
}

}  // namespace berth::container
