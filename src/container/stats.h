// Container resource usage read from the cgroup files of its init process
// (cgroup v1 controllers, or the v2 unified hierarchy), in Docker's
// GET /containers/{id}/stats JSON shape, and the container's process list
// for `top`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace berth::container {

// controller ("memory", "cpuacct", …; "" for v2) → directory, from
// /proc/PID/cgroup and the mounts under /sys/fs/cgroup.
std::map<std::string, std::string> cgroup_dirs_of(int pid);

// One sample (Docker's fields without name/id/precpu_stats/preread).
// `pid`: the container's init. Never fails: missing files give zeros.
Json read_stats_sample(int pid);

// Parses "key value" lines (memory.stat, cpuacct.stat); pure.
std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text);

// The pids in the container's cgroup (sorted).
std::vector<int> cgroup_pids(int pid);

// Docker's top: run `ps ARGS` on the host and keep the rows of `pids`.
// Errc::invalid with Docker's messages on bad ps arguments.
Result<Json> top_processes(const std::vector<int>& pids, const std::string& ps_args);
// The filtering part, pure: ps output → {"Titles":[..],"Processes":[[..]]}.
Result<Json> parse_ps_output(const std::string& out, const std::vector<int>& pids);

}  // namespace berth::container
