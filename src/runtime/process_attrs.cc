#include "runtime/process_attrs.h"

#include <linux/mempolicy.h>

#include <cstring>

#include "common/strings.h"

namespace berth::runtime {

namespace {

Error invalid(std::string msg) { return make_error(Errc::invalid, std::move(msg)); }

// "0-3,7" into a callback per number; false on a malformed list.
template <class F>
bool each_in_list(const std::string& list, unsigned limit, F&& f) {
  if (str::trim(list).empty()) return false;
  for (const auto& part_raw : str::split(list, ',')) {
    std::string part(str::trim(part_raw));
    auto dash = part.find('-');
    auto lo = str::parse_int(part.substr(0, dash));
    auto hi = dash == std::string::npos ? lo : str::parse_int(part.substr(dash + 1));
    if (!lo || !hi || *lo < 0 || *hi < *lo || *hi >= limit) return false;
    for (int64_t i = *lo; i <= *hi; ++i) f(static_cast<unsigned>(i));
  }
  return true;
}

}  // namespace

Result<SchedAttr> resolve_scheduler(const oci::Process::Scheduler& s, const std::string& field) {
  static const std::pair<const char*, uint32_t> policies[] = {
      {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},     {"SCHED_BATCH", 3},
      {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6}};
  static const std::pair<const char*, uint64_t> flags[] = {
      {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},        {"SCHED_FLAG_DL_OVERRUN", 0x04},
      {"SCHED_FLAG_KEEP_POLICY", 0x08},   {"SCHED_FLAG_KEEP_PARAMS", 0x10},    {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
      {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}};
  SchedAttr a;
  bool found = false;
  for (const auto& [n, v] : policies)
    if (s.policy == n) {
      a.sched_policy = v;
      found = true;
    }
  if (!found) return invalid(field + ".policy: unknown policy \"" + s.policy + "\"");
  for (size_t i = 0; i < s.flags.size(); ++i) {
    bool ok_flag = false;
    for (const auto& [n, v] : flags)
      if (s.flags[i] == n) {
        a.sched_flags |= v;
        ok_flag = true;
      }
    if (!ok_flag) return invalid(field + ".flags[" + std::to_string(i) + "]: unknown flag \"" + s.flags[i] + "\"");
  }
  bool rt = a.sched_policy == 1 || a.sched_policy == 2;
  if (!rt && s.priority != 0)
    return invalid(field + ".priority: only SCHED_FIFO and SCHED_RR take a priority");
  if (rt && (s.priority < 1 || s.priority > 99)) return invalid(field + ".priority: must be between 1 and 99 for " + s.policy);
  bool dl = a.sched_policy == 6;
  if (!dl && (s.runtime || s.deadline || s.period))
    return invalid(field + ": runtime, deadline and period are only for SCHED_DEADLINE");
  a.sched_nice = s.nice;
  a.sched_priority = static_cast<uint32_t>(s.priority);
  a.sched_runtime = s.runtime;
  a.sched_deadline = s.deadline;
  a.sched_period = s.period;
  return a;
}

Result<cpu_set_t> parse_cpu_list(const std::string& list, const std::string& field) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (!each_in_list(list, CPU_SETSIZE, [&](unsigned c) { CPU_SET(c, &set); }))
    return invalid(field + ": invalid CPU list \"" + list + "\"");
  return set;
}

Result<MemPolicy> resolve_memory_policy(const oci::Linux::MemoryPolicy& m) {
  static const std::pair<const char*, int> modes[] = {
      {"MPOL_DEFAULT", MPOL_DEFAULT},     {"MPOL_PREFERRED", MPOL_PREFERRED}, {"MPOL_BIND", MPOL_BIND},
      {"MPOL_INTERLEAVE", MPOL_INTERLEAVE}, {"MPOL_LOCAL", MPOL_LOCAL},
      {"MPOL_PREFERRED_MANY", MPOL_PREFERRED_MANY}, {"MPOL_WEIGHTED_INTERLEAVE", 6}};
  static const std::pair<const char*, int> mflags[] = {{"MPOL_F_NUMA_BALANCING", MPOL_F_NUMA_BALANCING},
                                                       {"MPOL_F_RELATIVE_NODES", MPOL_F_RELATIVE_NODES},
                                                       {"MPOL_F_STATIC_NODES", MPOL_F_STATIC_NODES}};
  const std::string f = "linux.memoryPolicy";
  MemPolicy p;
  int mode = -1;
  for (const auto& [n, v] : modes)
    if (m.mode == n) mode = v;
  if (mode < 0) return invalid(f + ".mode: unknown mode \"" + m.mode + "\"");
  p.mode = mode;
  for (size_t i = 0; i < m.flags.size(); ++i) {
    int fl = 0;
    for (const auto& [n, v] : mflags)
      if (m.flags[i] == n) fl = v;
    if (!fl) return invalid(f + ".flags[" + std::to_string(i) + "]: unknown flag \"" + m.flags[i] + "\"");
    p.mode |= fl;
  }
  bool takes_nodes = mode != MPOL_DEFAULT && mode != MPOL_LOCAL;
  if (!takes_nodes && !m.nodes.empty()) return invalid(f + ".nodes: " + m.mode + " takes no nodes");
  if (takes_nodes && m.nodes.empty()) return invalid(f + ".nodes: required for " + m.mode);
  if (!m.nodes.empty()) {
    constexpr unsigned bits = sizeof p.nodes * 8;
    unsigned top = 0;
    if (!each_in_list(m.nodes, bits, [&](unsigned n) {
          p.nodes[n / (8 * sizeof(unsigned long))] |= 1UL << (n % (8 * sizeof(unsigned long)));
          top = std::max(top, n);
        }))
      return invalid(f + ".nodes: invalid node list \"" + m.nodes + "\"");
    p.maxnode = top + 2;
  }
  return p;
}

std::string timens_offsets_text(const std::map<std::string, oci::Linux::TimeOffset>& offsets) {
  std::string out;
  for (const auto& [clock, o] : offsets)
    out += clock + " " + std::to_string(o.secs) + " " + std::to_string(o.nanosecs) + "\n";
  return out;
}

}  // namespace berth::runtime
