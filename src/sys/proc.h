// /proc readers: process identity (pid + start time) and liveness.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace berth::sys {

struct ProcStat {
  char state = '?';         // field 3: R, S, D, Z, ...
  uint64_t start_time = 0;  // field 22: clock ticks since boot
};

// Parse the text of /proc/PID/stat (comm may contain spaces and ')').
Result<ProcStat> parse_proc_stat(std::string_view text);
Result<ProcStat> read_proc_stat(pid_t pid);

// True when `pid` exists, is not a zombie, and started at `start_time`.
bool process_matches(pid_t pid, uint64_t start_time);

}  // namespace berth::sys
