// Which cgroup hierarchies a host has, detected from /proc/self/mountinfo:
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
// Reads /proc/self/mountinfo.
Result<CgroupLayout> detect_host_cgroup_layout();

// linux.cgroupsPath (or "/berth/<id>" when absent) normalised to an absolute
// path without a trailing slash. Rejects "..".
Result<std::string> resolve_cgroups_path(const std::string* cgroups_path, const std::string& id);

}  // namespace berth::runtime
