// Facts about the host that the spec builder needs and must not read
// itself: the capability bounding set, device nodes (for --device and
// --privileged), the kernel version.
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace berth::container {

// Names ("CAP_…") of the capabilities in this process's bounding set
// (/proc/self/status CapBnd) that berth knows.
std::vector<std::string> host_bounding_caps();
// Names of the capabilities set in a CapBnd-style hex mask (pure).
std::vector<std::string> caps_from_mask(uint64_t mask);

// A device node as the OCI spec wants it: {path (in the container), type,
// major, minor, fileMode, uid, gid, access}. Errc::not_found/invalid with
// Docker's wording when `host_path` is missing or not a device.
Result<Json> device_from_host(const std::string& host_path, const std::string& container_path,
                              const std::string& access);
// Every device node under /dev (not /dev/pts, /dev/shm, /dev/mqueue), for
// --privileged.
std::vector<Json> all_host_devices();

}  // namespace berth::container
