// A container's cgroup across every hierarchy of the host layout (v1
// controllers, the hybrid unified hierarchy, or pure v2), written through
// plain cgroupfs files so it also works on a fake tree in a temp dir.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "oci/spec.h"
#include "runtime/cgroup_layout.h"

namespace berth::runtime {

// The rules a container's device cgroup gets: the spec's, then runc's
// defaults (null, zero, full, random, urandom, tty, console, ptmx, pts) and
// linux.devices, each added only when no identical allow is already in force.
oci::Resources with_default_devices(const oci::Resources& r);

class Cgroup {
 public:
  // `path` is an absolute cgroup path ("/berth/<id>").
  Cgroup(CgroupLayout layout, std::string path);

  // Every directory of this cgroup (one per hierarchy), absolute.
  std::vector<std::string> dirs() const;
  const std::string& path() const { return path_; }
  const CgroupLayout& layout() const { return layout_; }

  // Checks that every resource set in `r` can be applied on this layout,
  // without touching the filesystem. Errors name the field.
  Status check(const oci::Resources& r) const;
  // mkdir in every hierarchy (v1 cpuset dirs get their parent's cpus/mems;
  // on v2 the parents' cgroup.subtree_control enables the controllers).
  Status create();
  Status apply(const oci::Resources& r);
  Status add_pid(pid_t pid);
  // Pids in the cgroup (from the first hierarchy that has cgroup.procs).
  Result<std::vector<pid_t>> pids() const;
  // Freeze or thaw every task: the v1 freezer when mounted, else the v2
  // cgroup.freeze; waits (bounded) until the kernel reports the new state.
  Status set_frozen(bool frozen);
  // runc's `events --stats` "data" object (cpu, memory, pids, blkio,
  // hugetlb) read from the cgroup files of whichever version holds each.
  OrderedJson stats() const;
  // How many times the kernel's OOM killer acted in this cgroup: v1
  // memory.oom_control "oom_kill", v2 memory.events "oom_kill". 0 when the
  // memory controller is absent.
  uint64_t oom_kills() const;
  // rmdir every directory (retrying briefly while tasks are exiting).
  // Missing directories are fine.
  Status destroy();

 private:
  // Directory holding `controller`: its v1 hierarchy, else the unified
  // hierarchy when that lists it (pure v2, or hugetlb on a hybrid host).
  // "" if absent.
  std::string dir_for(const std::string& controller) const;
  Status write(const std::string& dir, const char* file, const std::string& value);

  CgroupLayout layout_;
  std::string path_;
};

// Pids in the first of `dirs` that has a cgroup.procs (Cgroup::pids on
// the directories a container's state recorded at create).
Result<std::vector<pid_t>> cgroup_pids(const std::vector<std::string>& dirs);
// rmdir each of `dirs` (Cgroup::destroy on recorded directories).
Status remove_cgroup_dirs(const std::vector<std::string>& dirs);

// cgroup v1 cpu.shares to the v2 cpu.weight scale (as runc converts).
uint64_t cpu_shares_to_weight(uint64_t shares);
// v1 blkio.weight (10..1000) to the v2 io.weight scale (1..10000), as runc.
uint64_t blkio_weight_to_io_weight(uint64_t weight);

}  // namespace berth::runtime
