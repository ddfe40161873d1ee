// The rootfs mount plan: a pure function from the spec (plus a few host
// facts) to the list of concrete steps the container init performs inside
// its new mount namespace. Golden-tested; the init only executes it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "oci/spec.h"
#include "runtime/cgroup_layout.h"

namespace berth::runtime {

enum class StepKind {
  mount,        // mount(source, target, fstype, flags, data)
  bind,         // mount(source (host path), target, MS_BIND | flags)
  remount,      // mount(target, MS_REMOUNT | flags) keeping locked flags (bind remounts)
  propagate,    // mount(target, propagation flags)
  mknod,        // mknod(target, mode, dev) then chown uid:gid
  bind_device,  // create an empty file and bind the host device `source` onto it
  symlink,      // symlink(source, target); an existing entry is replaced
};

struct MountStep {
  StepKind kind = StepKind::mount;
  std::string source;
  std::string target;  // absolute path inside the container root
  std::string fstype;
  std::string data;
  unsigned long flags = 0;
  bool target_is_dir = true;  // what to create when the target is missing
  mode_t mode = 0;            // mknod: S_IFCHR|0666 ...
  dev_t dev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  long spec_index = -1;  // mounts[i] this step came from (-1: runtime-generated)
};

struct RootfsPlan {
  std::string rootfs;                      // absolute host path of the root
  unsigned long root_propagation = 0;      // applied recursively to "/" first
  unsigned long rootfs_propagation = 0;    // linux.rootfsPropagation, applied to "/" after pivot
  std::vector<MountStep> steps;            // before pivot_root, relative to `rootfs`
  std::vector<std::string> masked_paths;   // after pivot_root
  std::vector<std::string> readonly_paths;
  bool readonly_root = false;
  bool console = false;                    // bind the pty slave to /dev/console
};

struct PlanInputs {
  std::string bundle;  // absolute bundle dir
  std::string rootfs;  // absolute rootfs path
  const CgroupLayout* cgroups = nullptr;
  std::string cgroup_path;  // "/berth/<id>"
  bool can_mknod = true;    // false in a new user namespace
  bool new_netns = true;    // sysfs can only be mounted in an own network namespace
  // Whether a bind source is a directory (errors name the path).
  std::function<Result<bool>(const std::string&)> source_is_dir;
};

Result<RootfsPlan> plan_rootfs(const oci::Spec& spec, const PlanInputs& in);

// Absolute, "."/".."-free form of an in-container path ("/a/./b/../c" -> "/a/c").
std::string clean_path(const std::string& p);

}  // namespace berth::runtime
