#include "container/overlay.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include "common/fs.h"

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
  std::string opts = overlay_options(layers, d);
  if (opts.size() >= 4096)
    return make_error(Errc::invalid, "too many image layers for one overlay mount");
  if (::mount("overlay", d.merged.c_str(), "overlay", 0, opts.c_str()) != 0)
    return sys_error("mount overlay at " + d.merged);
  return ok();
}

Status unmount_rootfs(const RootfsDirs& d) {
  for (int i = 0; i < 8 && is_mount_point(d.merged); ++i) {
    if (::umount2(d.merged.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
      return sys_error("unmount " + d.merged);
  }
  return ok();
}

}  // namespace berth::container
