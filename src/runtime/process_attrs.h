// Process attributes the spec gives as names and lists, resolved before
// clone() into the plain structures the init applies with raw syscalls:
// process.scheduler (sched_setattr), process.execCPUAffinity (CPU sets),
// linux.memoryPolicy (set_mempolicy), linux.timeOffsets (timens_offsets).
#pragma once

#include <sched.h>

#include <cstdint>
#include <map>
#include <string>

#include "common/result.h"
#include "oci/spec.h"

namespace berth::runtime {

// struct sched_attr (SCHED_ATTR_SIZE_VER0), as sched_setattr(2) takes it.
struct SchedAttr {
  uint32_t size = sizeof(SchedAttr);
  uint32_t sched_policy = 0;
  uint64_t sched_flags = 0;
  int32_t sched_nice = 0;
  uint32_t sched_priority = 0;
  uint64_t sched_runtime = 0, sched_deadline = 0, sched_period = 0;
};
static_assert(sizeof(SchedAttr) == 48);

// `field` prefixes errors ("process.scheduler").
Result<SchedAttr> resolve_scheduler(const oci::Process::Scheduler& s, const std::string& field);

// "0-3,7" -> CPU set; every CPU must be below CPU_SETSIZE.
Result<cpu_set_t> parse_cpu_list(const std::string& list, const std::string& field);

struct MemPolicy {
  int mode = 0;  // MPOL_* | MPOL_F_* flags
  unsigned long nodes[16] = {};  // 1024 nodes
  unsigned long maxnode = 0;     // set_mempolicy's maxnode (bits + 1), 0: no nodes
};
Result<MemPolicy> resolve_memory_policy(const oci::Linux::MemoryPolicy& m);

// The text written to /proc/PID/timens_offsets ("monotonic 86400 0\n...").
std::string timens_offsets_text(const std::map<std::string, oci::Linux::TimeOffset>& offsets);

}  // namespace berth::runtime
