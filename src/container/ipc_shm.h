// --ipc shareable: the container's /dev/shm is a tmpfs on the host at
// CONTAINER_DIR/mounts/shm (as dockerd's), so that --ipc container:X can
// bind the same one (overlay.cc).
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace berth::container {

std::string ipc_shm_path(const std::string& container_dir);
// No-op when it is mounted already.
Status mount_ipc_shm(const std::string& path, int64_t size);
void unmount_ipc_shm(const std::string& path);

}  // namespace berth::container
