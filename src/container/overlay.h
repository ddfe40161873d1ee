// The container's writable rootfs: an overlay of the image's layer
// directories (lowest first) under DATA_ROOT/overlay/<id>/{diff,work,merged}.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace berth::container {

struct RootfsDirs {
  std::string base;    // DATA_ROOT/overlay/<id>
  std::string upper;   // .../diff
  std::string work;    // .../work
  std::string merged;  // .../merged
};
RootfsDirs rootfs_dirs(const std::string& data_root, const std::string& id);

// lowerdir option value: layers highest first, ':'-separated.
std::string overlay_options(const std::vector<std::string>& layers_lowest_first,
                            const RootfsDirs& d);

Status create_rootfs_dirs(const RootfsDirs& d);
// Mounts the overlay at d.merged unless something is mounted there already.
Status mount_rootfs(const std::vector<std::string>& layers_lowest_first, const RootfsDirs& d);
// Lazy unmount; not mounted is fine.
Status unmount_rootfs(const RootfsDirs& d);
bool is_mount_point(const std::string& path);

}  // namespace berth::container
