#include "container/stats.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "common/fs.h"
#include "common/strings.h"
#include "common/time.h"
#include "container/runtime_cmd.h"

namespace berth::container {

namespace {

uint64_t read_u64(const std::string& path, uint64_t def = 0) {
  auto t = fs::read_file(path);
  if (!t) return def;
  auto s = std::string(str::trim(*t));
  if (s == "max") return def;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (end == s.c_str()) return def;
  return v;
}

std::vector<uint64_t> read_u64_list(const std::string& path) {
  std::vector<uint64_t> out;
  auto t = fs::read_file(path);
  if (!t) return out;
  std::istringstream in(*t);
  uint64_t v;
  while (in >> v) out.push_back(v);
  return out;
}

uint64_t host_mem_total() {
  auto t = fs::read_file("/proc/meminfo");
  if (!t) return 0;
  for (const auto& l : str::split(*t, '\n'))
    if (str::starts_with(l, "MemTotal:")) return std::strtoull(l.c_str() + 9, nullptr, 10) * 1024;
  return 0;
}

// Sum of all CPU time of the host in ns (/proc/stat "cpu" line), Docker's
// system_cpu_usage.
uint64_t system_cpu_ns() {
  auto t = fs::read_file("/proc/stat");
  if (!t) return 0;
  auto nl = t->find('\n');
  std::istringstream in(t->substr(0, nl));
  std::string cpu;
  in >> cpu;
  uint64_t sum = 0, v;
  for (int i = 0; i < 7 && (in >> v); ++i) sum += v;
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0) hz = 100;
  return sum * (1000000000ULL / static_cast<uint64_t>(hz));
}

Json blkio_entries(const std::string& path) {
  // "8:0 Read 1234" lines (v1 blkio.throttle.io_service_bytes).
  Json out = Json::array();
  auto t = fs::read_file(path);
  if (!t) return out;
  for (const auto& l : str::split(*t, '\n')) {
    std::istringstream in(l);
    std::string dev, op;
    uint64_t v;
    if (!(in >> dev >> op >> v)) continue;
    auto c = dev.find(':');
    if (c == std::string::npos) continue;
    out.push_back(Json{{"major", std::strtoull(dev.substr(0, c).c_str(), nullptr, 10)},
                       {"minor", std::strtoull(dev.substr(c + 1).c_str(), nullptr, 10)},
                       {"op", op},
                       {"value", v}});
  }
  return out;
}

Json read_networks(int pid) {
  Json nets = Json::object();
  auto t = fs::read_file("/proc/" + std::to_string(pid) + "/net/dev");
  if (!t) return nets;
  for (const auto& l : str::split(*t, '\n')) {
    auto c = l.find(':');
    if (c == std::string::npos) continue;
    std::string name(str::trim(l.substr(0, c)));
    if (name == "lo" || name.empty() || name.find('|') != std::string::npos) continue;
    std::istringstream in(l.substr(c + 1));
    uint64_t f[16] = {};
    for (auto& x : f) in >> x;
    nets[name] = Json{{"rx_bytes", f[0]},  {"rx_packets", f[1]}, {"rx_errors", f[2]},
                      {"rx_dropped", f[3]}, {"tx_bytes", f[8]},   {"tx_packets", f[9]},
                      {"tx_errors", f[10]}, {"tx_dropped", f[11]}};
  }
  return nets;
}

}  // namespace

std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text) {
  std::map<std::string, uint64_t> out;
  for (const auto& l : str::split(text, '\n')) {
    std::istringstream in(l);
    std::string k;
    uint64_t v;
    if (in >> k >> v) out[k] = v;
  }
  return out;
}

std::map<std::string, std::string> cgroup_dirs_of(int pid) {
  std::map<std::string, std::string> out;
  auto t = fs::read_file("/proc/" + std::to_string(pid) + "/cgroup");
  if (!t) return out;
  for (const auto& l : str::split(*t, '\n')) {
    auto a = l.find(':');
    if (a == std::string::npos) continue;
    auto b = l.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string ctrls = l.substr(a + 1, b - a - 1), path = l.substr(b + 1);
    if (ctrls.empty()) {
      for (const char* base : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"})
        if (fs::exists(std::string(base) + "/cgroup.controllers")) {
          out[""] = std::string(base) + path;
          break;
        }
      continue;
    }
    if (str::starts_with(ctrls, "name=")) continue;
    std::string dir = "/sys/fs/cgroup/" + ctrls + path;
    for (const auto& c : str::split(ctrls, ',')) {
      std::string d = fs::exists("/sys/fs/cgroup/" + c) ? "/sys/fs/cgroup/" + c + path : dir;
      out[c] = d;
    }
  }
  return out;
}

Json read_stats_sample(int pid) {
  auto dirs = cgroup_dirs_of(pid);
  auto dir = [&](const char* c) -> std::string {
    if (auto it = dirs.find(c); it != dirs.end()) return it->second;
    return {};
  };
  const std::string v2 = dir("");
  const bool has_v1 = !dir("memory").empty() || !dir("cpuacct").empty();
  Json s;
  s["read"] = timeutil::rfc3339_nano(timeutil::now_unix_nano());
  long ncpu = ::sysconf(_SC_NPROCESSORS_ONLN);

  // pids
  Json pids = Json::object();
  if (auto d = dir("pids"); !d.empty()) {
    pids["current"] = read_u64(d + "/pids.current");
    if (uint64_t lim = read_u64(d + "/pids.max", 0); lim) pids["limit"] = lim;
  } else if (!v2.empty()) {
    pids["current"] = read_u64(v2 + "/pids.current");
    if (uint64_t lim = read_u64(v2 + "/pids.max", 0); lim) pids["limit"] = lim;
  }
  s["pids_stats"] = pids;

  // cpu
  Json usage;
  Json throttling{{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}};
  if (has_v1) {
    std::string d = dir("cpuacct");
    usage["total_usage"] = read_u64(d + "/cpuacct.usage");
    auto per = read_u64_list(d + "/cpuacct.usage_percpu");
    usage["percpu_usage"] = per;
    auto st = parse_flat_keyed(fs::read_file(d + "/cpuacct.stat").value_or(""));
    long hz = ::sysconf(_SC_CLK_TCK);
    uint64_t tick_ns = 1000000000ULL / static_cast<uint64_t>(hz > 0 ? hz : 100);
    usage["usage_in_kernelmode"] = st["system"] * tick_ns;
    usage["usage_in_usermode"] = st["user"] * tick_ns;
    auto th = parse_flat_keyed(fs::read_file(dir("cpu") + "/cpu.stat").value_or(""));
    throttling = Json{{"periods", th["nr_periods"]},
                      {"throttled_periods", th["nr_throttled"]},
                      {"throttled_time", th["throttled_time"]}};
  } else if (!v2.empty()) {
    auto st = parse_flat_keyed(fs::read_file(v2 + "/cpu.stat").value_or(""));
    usage["total_usage"] = st["usage_usec"] * 1000;
    usage["usage_in_kernelmode"] = st["system_usec"] * 1000;
    usage["usage_in_usermode"] = st["user_usec"] * 1000;
    throttling = Json{{"periods", st["nr_periods"]},
                      {"throttled_periods", st["nr_throttled"]},
                      {"throttled_time", st["throttled_usec"] * 1000}};
  } else {
    usage = Json{{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}};
  }
  s["cpu_stats"] = Json{{"cpu_usage", usage},
                        {"system_cpu_usage", system_cpu_ns()},
                        {"online_cpus", ncpu},
                        {"throttling_data", throttling}};

  // memory
  Json mem = Json::object();
  uint64_t total = host_mem_total();
  if (auto d = dir("memory"); !d.empty()) {
    mem["usage"] = read_u64(d + "/memory.usage_in_bytes");
    mem["max_usage"] = read_u64(d + "/memory.max_usage_in_bytes");
    mem["failcnt"] = read_u64(d + "/memory.failcnt");
    auto st = parse_flat_keyed(fs::read_file(d + "/memory.stat").value_or(""));
    Json stats = Json::object();
    for (const auto& [k, v] : st) stats[k] = v;
    mem["stats"] = stats;
    uint64_t lim = read_u64(d + "/memory.limit_in_bytes");
    mem["limit"] = (total && (lim == 0 || lim > total)) ? total : lim;
  } else if (!v2.empty()) {
    mem["usage"] = read_u64(v2 + "/memory.current");
    auto st = parse_flat_keyed(fs::read_file(v2 + "/memory.stat").value_or(""));
    Json stats = Json::object();
    for (const auto& [k, v] : st) stats[k] = v;
    mem["stats"] = stats;
    uint64_t lim = read_u64(v2 + "/memory.max", 0);
    mem["limit"] = (lim == 0 || (total && lim > total)) ? total : lim;
  }
  s["memory_stats"] = mem;

  // block I/O
  Json blk{{"io_service_bytes_recursive", nullptr}, {"io_serviced_recursive", nullptr},
           {"io_queue_recursive", nullptr},        {"io_service_time_recursive", nullptr},
           {"io_wait_time_recursive", nullptr},    {"io_merged_recursive", nullptr},
           {"io_time_recursive", nullptr},         {"sectors_recursive", nullptr}};
  if (auto d = dir("blkio"); !d.empty()) {
    auto b = blkio_entries(d + "/blkio.throttle.io_service_bytes");
    if (!b.empty()) blk["io_service_bytes_recursive"] = b;
    auto c = blkio_entries(d + "/blkio.throttle.io_serviced");
    if (!c.empty()) blk["io_serviced_recursive"] = c;
  } else if (!v2.empty()) {
    // io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..."
    Json bytes = Json::array(), ios = Json::array();
    for (const auto& l : str::split(fs::read_file(v2 + "/io.stat").value_or(""), '\n')) {
      auto parts = str::split(l, ' ');
      if (parts.size() < 2) continue;
      auto c = parts[0].find(':');
      if (c == std::string::npos) continue;
      uint64_t maj = std::strtoull(parts[0].substr(0, c).c_str(), nullptr, 10);
      uint64_t min = std::strtoull(parts[0].substr(c + 1).c_str(), nullptr, 10);
      for (size_t i = 1; i < parts.size(); ++i) {
        auto eq = parts[i].find('=');
        if (eq == std::string::npos) continue;
        std::string k = parts[i].substr(0, eq);
        uint64_t v = std::strtoull(parts[i].substr(eq + 1).c_str(), nullptr, 10);
        if (k == "rbytes") bytes.push_back(Json{{"major", maj}, {"minor", min}, {"op", "read"}, {"value", v}});
        if (k == "wbytes") bytes.push_back(Json{{"major", maj}, {"minor", min}, {"op", "write"}, {"value", v}});
        if (k == "rios") ios.push_back(Json{{"major", maj}, {"minor", min}, {"op", "read"}, {"value", v}});
        if (k == "wios") ios.push_back(Json{{"major", maj}, {"minor", min}, {"op", "write"}, {"value", v}});
      }
    }
    if (!bytes.empty()) blk["io_service_bytes_recursive"] = bytes;
    if (!ios.empty()) blk["io_serviced_recursive"] = ios;
  }
  s["blkio_stats"] = blk;
  s["num_procs"] = 0;
  s["storage_stats"] = Json::object();
  Json nets = read_networks(pid);
  if (!nets.empty()) s["networks"] = nets;
  return s;
}

std::vector<int> cgroup_pids(int pid) {
  auto dirs = cgroup_dirs_of(pid);
  std::string d;
  for (const char* c : {"pids", "memory", "cpuacct", "freezer", ""})
    if (auto it = dirs.find(c); it != dirs.end()) {
      d = it->second;
      break;
    }
  std::vector<int> out;
  if (d.empty()) return out;
  for (const auto& l : str::split(fs::read_file(d + "/cgroup.procs").value_or(""), '\n'))
    if (auto n = str::parse_int(str::trim(l))) out.push_back(static_cast<int>(*n));
  std::sort(out.begin(), out.end());
  return out;
}

Result<Json> parse_ps_output(const std::string& out, const std::vector<int>& pids) {
  auto lines = str::split(out, '\n');
  if (lines.empty() || str::trim(lines[0]).empty())
    return make_error(Errc::internal, "Error running ps: no output");
  std::vector<std::string> titles;
  {
    std::istringstream in(lines[0]);
    std::string w;
    while (in >> w) titles.push_back(w);
  }
  int pid_col = -1;
  for (size_t i = 0; i < titles.size(); ++i)
    if (titles[i] == "PID") pid_col = static_cast<int>(i);
  if (pid_col < 0) return make_error(Errc::internal, "Couldn't find PID field in ps output");
  std::set<int> want(pids.begin(), pids.end());
  Json procs = Json::array();
  for (size_t li = 1; li < lines.size(); ++li) {
    const std::string& l = lines[li];
    if (str::trim(l).empty()) continue;
    // Split into titles.size() fields; the last one keeps the rest.
    std::vector<std::string> fields;
    size_t pos = 0;
    while (fields.size() + 1 < titles.size()) {
      while (pos < l.size() && l[pos] == ' ') ++pos;
      size_t end = l.find(' ', pos);
      if (end == std::string::npos) end = l.size();
      fields.push_back(l.substr(pos, end - pos));
      pos = end;
    }
    while (pos < l.size() && l[pos] == ' ') ++pos;
    fields.push_back(l.substr(std::min(pos, l.size())));
    auto p = str::parse_int(fields[static_cast<size_t>(pid_col)]);
    if (!p) return make_error(Errc::internal, "Unexpected pid '" + fields[static_cast<size_t>(pid_col)] + "'");
    if (!want.count(static_cast<int>(*p))) continue;
    procs.push_back(fields);
  }
  return Json{{"Titles", titles}, {"Processes", procs}};
}

Result<Json> top_processes(const std::vector<int>& pids, const std::string& ps_args) {
  std::vector<std::string> args;
  {
    std::istringstream in(ps_args.empty() ? "-ef" : ps_args);
    std::string w;
    while (in >> w) args.push_back(w);
  }
  std::vector<std::string> argv = {"/bin/ps"};
  if (!fs::exists(argv[0])) argv[0] = "/usr/bin/ps";
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = BERTH_TRY(run_command(argv, "", 10000));
  if (r.status != 0)
    return make_error(Errc::internal, "Error running top: exit status " + std::to_string(r.status) +
                                          ": " + std::string(str::trim(r.err)));
  return parse_ps_output(r.out, pids);
}

}  // namespace berth::container
