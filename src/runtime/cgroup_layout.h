// Which cgroup hierarchies a host has, detected from the mounts under
// /sys/fs/cgroup (statmount/listmount) or else from /proc/self/mountinfo:
//  - v1:     only cgroup (v1) controller hierarchies;
//  - hybrid: v1 controllers plus a cgroup2 hierarchy (usually /sys/fs/cgroup/unified);
//  - v2:     /sys/fs/cgroup itself is cgroup2 (the unified hierarchy).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::runtime {

enum class CgroupMode { v1, hybrid, v2 };

struct V1Hierarchy {
  std::string mount_point;               // /sys/fs/cgroup/memory
  std::vector<std::string> controllers;  // {"memory"} or {"cpu","cpuacct"} or {"name=systemd"}
};

struct CgroupLayout {
  CgroupMode mode = CgroupMode::v1;
  std::vector<V1Hierarchy> v1;
  std::string unified;  // mount point of the cgroup2 hierarchy, empty if none

  // Hierarchy holding `controller`, or nullptr.
  const V1Hierarchy* find_v1(std::string_view controller) const;
};

// Pure: parse mountinfo text. Fails when no cgroup hierarchy is mounted.
Result<CgroupLayout> detect_cgroup_layout(std::string_view mountinfo);
// The host's layout: detect_cgroup_layout_statmount() when it answers, else
// /proc/self/mountinfo parsed by detect_cgroup_layout().
Result<CgroupLayout> detect_host_cgroup_layout();
// From the mount of /sys/fs/cgroup and its child mounts only, with
// statx(STATX_MNT_ID_UNIQUE), listmount() and statmount(MNT_OPTS) (Linux
// 6.11+): a dozen syscalls instead of formatting and parsing every mount
// of the host (mountinfo grows by a line per container overlay, bind and
// netns pin; create runs this every time). Errc::unavailable when the
// kernel lacks them, /sys/fs/cgroup is not a mount or an answer does not
// look right; the caller then falls back to mountinfo.
Result<CgroupLayout> detect_cgroup_layout_statmount();

// linux.cgroupsPath (or "/berth/<id>" when absent) normalised to an absolute
// path without a trailing slash. Rejects "..".
Result<std::string> resolve_cgroups_path(const std::string* cgroups_path, const std::string& id);

}  // namespace berth::runtime
