// Boot-time recovery of what a crashed berthd left behind: shims (and the
// runtime processes under them) of containers that never finished starting,
// their runtime state, cgroups and mounts. Used by ContainerService::reconcile.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::container::recovery {

// The fields of /proc/PID/stat recovery needs.
struct ProcStat {
  pid_t pid = 0;
  char state = '?';          // field 3
  pid_t ppid = 0;            // field 4
  pid_t sid = 0;             // field 6
  uint64_t start_time = 0;   // field 22 (clock ticks since boot)
};

// Parses the text of /proc/PID/stat (comm may hold spaces and ')'). Pure.
Result<ProcStat> parse_stat(std::string_view text);

// The value following `flag` in an argv ("" when absent). Pure.
std::string argv_value(const std::vector<std::string>& argv, std::string_view flag);

// A shim process found in /proc: the monitor or the process berthd spawned
// (which waits for the monitor's verdict), or an exec-mode shim.
struct ShimProc {
  ProcStat stat;
  std::string id;       // --id
  std::string runtime;  // --runtime
};

// Every berth-shim process whose --runtime-root is `runtime_root` (so: one
// of this daemon's, never another daemon's), grouped by container ID.
std::map<std::string, std::vector<ShimProc>> find_shims(const std::string& runtime_root);

// Kills (SIGKILL) the given shims and every process in the sessions they
// lead (the runtime's create/exec child and hooks), each checked by its
// start time through a pidfd so that a reused pid is never hit. Waits (at
// most timeout_ms) until they are gone; returns how many were signalled.
int kill_shims(const std::vector<ShimProc>& shims, int timeout_ms = 5000);

// The init a runtime state.json records ({"pid":…,"start_time":…}): pid and
// start time, nullopt when the text holds none (pid 0: stopped). Pure.
std::optional<std::pair<pid_t, uint64_t>> state_init(std::string_view state_json);

// Kills (SIGKILL, through a pidfd checked against the recorded start time)
// the container init that ROOT/ID/state.json names, and waits for it (at
// most timeout_ms). An init blocked opening exec.fifo (created, never
// started) is found so even when its shim is gone, it has left its cgroup
// or the runtime cannot delete it. True when one was signalled.
bool kill_state_init(const std::string& runtime_state_dir, int timeout_ms = 5000);

// The cgroup directories (every mounted v1 controller and the v2 tree)
// named by cgroups_path ("/berth/<id>").
std::vector<std::string> cgroup_dirs(const std::string& cgroups_path);

// Kills every process in those cgroups (thawing a frozen freezer first),
// waits at most timeout_ms until they are empty, then removes them (child
// cgroups first). Returns the number of directories left behind.
int sweep_cgroups(const std::string& cgroups_path, int timeout_ms = 5000);

}  // namespace berth::container::recovery
