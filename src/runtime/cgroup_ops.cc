// Cgroup operations on a running container: freezing (pause/resume) and
// the statistics `events --stats` reports, for v1, v2 and hybrid layouts.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <optional>
#include <string_view>

#include "common/fs.h"
#include "common/strings.h"
#include "runtime/cgroup.h"

namespace berth::runtime {

namespace {

std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  ::nanosleep(&ts, nullptr);
}

std::string read_trim(const std::string& path) {
  auto t = fs::read_file(path);
  return t ? std::string(str::trim(*t)) : std::string();
}

// A number file; "max" (v2) reads as UINT64_MAX, absent/garbage as 0.
uint64_t read_u64(const std::string& path) {
  std::string v = read_trim(path);
  if (v == "max") return UINT64_MAX;
  auto n = parse_u64(v);
  return n ? *n : 0;
}

// "key value" lines (memory.stat, cpu.stat, memory.events).
std::map<std::string, uint64_t> read_kv(const std::string& path) {
  std::map<std::string, uint64_t> out;
  auto t = fs::read_file(path);
  if (!t) return out;
  for (const auto& line : str::split(*t, '\n')) {
    auto f = str::split(line, ' ');
    if (f.size() != 2) continue;
    if (auto n = parse_u64(f[1])) out[f[0]] = *n;
  }
  return out;
}

void put_nonzero(OrderedJson& o, const char* k, uint64_t v) {
  if (v) o[k] = v;
}

OrderedJson memory_entry(uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt) {
  OrderedJson e = OrderedJson::object();
  e["limit"] = limit;
  put_nonzero(e, "usage", usage);
  put_nonzero(e, "max", max);
  e["failcnt"] = failcnt;
  return e;
}

// v1 blkio "8:0 Read 4096" lines into runc's BlkioEntry list.
OrderedJson blkio_v1(const std::string& path) {
  OrderedJson arr = OrderedJson::array();
  auto t = fs::read_file(path);
  if (!t) return arr;
  for (const auto& line : str::split(*t, '\n')) {
    auto f = str::split(line, ' ');
    if (f.size() != 3) continue;
    auto mm = str::split(f[0], ':');
    if (mm.size() != 2) continue;
    OrderedJson e = OrderedJson::object();
    put_nonzero(e, "major", parse_u64(mm[0]).value_or(0));
    put_nonzero(e, "minor", parse_u64(mm[1]).value_or(0));
    e["op"] = f[1];
    put_nonzero(e, "value", parse_u64(f[2]).value_or(0));
    arr.push_back(e);
  }
  return arr;
}

// "2MB" from "hugetlb.2MB.limit_in_bytes".
std::vector<std::string> hugetlb_sizes(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& n : fs::list_dir(dir)) {
    if (!str::starts_with(n, "hugetlb.")) continue;
    auto rest = n.substr(8);
    auto dot = rest.find('.');
    if (dot == std::string::npos) continue;
    std::string size = rest.substr(0, dot);
    std::string file = rest.substr(dot + 1);
    if (file == "max" || file == "limit_in_bytes") out.push_back(size);
  }
  return out;
}

}  // namespace

Status Cgroup::set_frozen(bool frozen) {
  if (const auto* h = layout_.mode == CgroupMode::v2 ? nullptr : layout_.find_v1("freezer")) {
    std::string d = h->mount_point + path_;
    const char* want = frozen ? "FROZEN" : "THAWED";
    for (int attempt = 0; attempt < 1000; ++attempt) {
      // Rewrite on every round: a task forking while freezing can leave the
      // cgroup in FREEZING, which a new write retries.
      BERTH_TRY_VOID(write(d, "freezer.state", want));
      if (read_trim(d + "/freezer.state") == want) return ok();
      sleep_ms(attempt < 10 ? 1 : 10);
    }
    if (frozen) (void)write(d, "freezer.state", "THAWED");
    return make_error(Errc::internal, std::string("freezer: the cgroup did not become ") + want);
  }
  if (layout_.unified.empty()) return make_error(Errc::invalid, "no freezer cgroup on this host");
  std::string d = layout_.unified + path_;
  BERTH_TRY_VOID(write(d, "cgroup.freeze", frozen ? "1" : "0"));
  for (int attempt = 0; attempt < 1000; ++attempt) {
    auto ev = read_kv(d + "/cgroup.events");
    auto it = ev.find("frozen");
    // A fake tree (unit tests) has no cgroup.events: the write is the state.
    if (it == ev.end() || it->second == (frozen ? 1u : 0u)) return ok();
    sleep_ms(attempt < 10 ? 1 : 10);
  }
  return make_error(Errc::internal, std::string("cgroup.freeze: the cgroup did not become ") +
                                        (frozen ? "frozen" : "thawed"));
}

OrderedJson Cgroup::stats() const {
  const bool v2 = layout_.mode == CgroupMode::v2;
  OrderedJson data = OrderedJson::object();

  // ---- cpu
  OrderedJson usage = OrderedJson::object(), thr = OrderedJson::object();
  if (v2) {
    auto st = read_kv(dir_for("cpu") + "/cpu.stat");
    put_nonzero(usage, "total", st["usage_usec"] * 1000);
    usage["kernel"] = st["system_usec"] * 1000;
    usage["user"] = st["user_usec"] * 1000;
    put_nonzero(thr, "periods", st["nr_periods"]);
    put_nonzero(thr, "throttledPeriods", st["nr_throttled"]);
    put_nonzero(thr, "throttledTime", st["throttled_usec"] * 1000);
  } else {
    std::string acct = dir_for("cpuacct");
    put_nonzero(usage, "total", read_u64(acct + "/cpuacct.usage"));
    OrderedJson percpu = OrderedJson::array();
    for (const auto& f : str::split(read_trim(acct + "/cpuacct.usage_percpu"), ' '))
      if (auto n = parse_u64(f)) percpu.push_back(*n);
    if (!percpu.empty()) usage["percpu"] = percpu;
    // cpuacct.stat is in USER_HZ ticks; runc reports nanoseconds.
    auto st = read_kv(acct + "/cpuacct.stat");
    const uint64_t tick_ns = 1000000000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    usage["kernel"] = st["system"] * tick_ns;
    usage["user"] = st["user"] * tick_ns;
    auto cs = read_kv(dir_for("cpu") + "/cpu.stat");
    put_nonzero(thr, "periods", cs["nr_periods"]);
    put_nonzero(thr, "throttledPeriods", cs["nr_throttled"]);
    put_nonzero(thr, "throttledTime", cs["throttled_time"]);
  }
  data["cpu"] = {{"usage", usage}, {"throttling", thr}};

  // ---- memory
  OrderedJson mem = OrderedJson::object();
  std::string md = dir_for("memory");
  if (!md.empty()) {
    auto raw = read_kv(md + "/memory.stat");
    if (v2) {
      put_nonzero(mem, "cache", raw["file"]);
      uint64_t cur = read_u64(md + "/memory.current");
      uint64_t swap = read_u64(md + "/memory.swap.current");
      uint64_t swap_max = read_u64(md + "/memory.swap.max");
      uint64_t lim = read_u64(md + "/memory.max");
      uint64_t oom = read_kv(md + "/memory.events")["max"];
      mem["usage"] = memory_entry(lim, cur, read_u64(md + "/memory.peak"), oom);
      // runc reports v2 swap as memory+swap, the v1 memsw meaning.
      mem["swap"] = memory_entry(swap_max == UINT64_MAX || lim == UINT64_MAX ? UINT64_MAX : swap_max + lim,
                                 cur + swap, 0, 0);
      mem["kernel"] = memory_entry(0, 0, 0, 0);
      mem["kernelTCP"] = memory_entry(0, 0, 0, 0);
    } else {
      put_nonzero(mem, "cache", raw["total_cache"] ? raw["total_cache"] : raw["cache"]);
      auto entry = [&](const std::string& prefix) {
        return memory_entry(read_u64(md + "/" + prefix + ".limit_in_bytes"),
                            read_u64(md + "/" + prefix + ".usage_in_bytes"),
                            read_u64(md + "/" + prefix + ".max_usage_in_bytes"),
                            read_u64(md + "/" + prefix + ".failcnt"));
      };
      mem["usage"] = entry("memory");
      mem["swap"] = entry("memory.memsw");
      mem["kernel"] = entry("memory.kmem");
      mem["kernelTCP"] = entry("memory.kmem.tcp");
    }
    if (!raw.empty()) {
      OrderedJson r = OrderedJson::object();
      for (const auto& [k, v] : raw) r[k] = v;
      mem["raw"] = r;
    }
  }
  data["memory"] = mem;

  // ---- pids
  OrderedJson pids = OrderedJson::object();
  if (std::string pd = dir_for("pids"); !pd.empty()) {
    put_nonzero(pids, "current", read_u64(pd + "/pids.current"));
    uint64_t lim = read_u64(pd + "/pids.max");
    put_nonzero(pids, "limit", lim == UINT64_MAX ? 0 : lim);
  }
  data["pids"] = pids;

  // ---- blkio / io
  OrderedJson blkio = OrderedJson::object();
  if (v2) {
    OrderedJson bytes = OrderedJson::array(), ios = OrderedJson::array();
    if (auto t = fs::read_file(dir_for("io") + "/io.stat")) {
      for (const auto& line : str::split(*t, '\n')) {
        auto f = str::split(line, ' ');
        if (f.empty()) continue;
        auto mm = str::split(f[0], ':');
        if (mm.size() != 2) continue;
        uint64_t maj = parse_u64(mm[0]).value_or(0), min = parse_u64(mm[1]).value_or(0);
        for (size_t i = 1; i < f.size(); ++i) {
          auto kv = str::split(f[i], '=');
          if (kv.size() != 2) continue;
          uint64_t v = parse_u64(kv[1]).value_or(0);
          auto add = [&](OrderedJson& arr, const char* op) {
            OrderedJson e = OrderedJson::object();
            put_nonzero(e, "major", maj);
            put_nonzero(e, "minor", min);
            e["op"] = op;
            put_nonzero(e, "value", v);
            arr.push_back(e);
          };
          if (kv[0] == "rbytes") add(bytes, "Read");
          if (kv[0] == "wbytes") add(bytes, "Write");
          if (kv[0] == "rios") add(ios, "Read");
          if (kv[0] == "wios") add(ios, "Write");
        }
      }
    }
    if (!bytes.empty()) blkio["ioServiceBytesRecursive"] = bytes;
    if (!ios.empty()) blkio["ioServicedRecursive"] = ios;
  } else if (std::string bd = dir_for("blkio"); !bd.empty()) {
    auto bytes = blkio_v1(bd + "/blkio.throttle.io_service_bytes_recursive");
    auto ios = blkio_v1(bd + "/blkio.throttle.io_serviced_recursive");
    if (!bytes.empty()) blkio["ioServiceBytesRecursive"] = bytes;
    if (!ios.empty()) blkio["ioServicedRecursive"] = ios;
  }
  data["blkio"] = blkio;

  // ---- hugetlb (v1 files, or v2 ones: on this kind of hybrid host the
  // controller lives on the unified hierarchy)
  OrderedJson huge = OrderedJson::object();
  if (std::string hd = dir_for("hugetlb"); !hd.empty()) {
    bool hv2 = hd.rfind(layout_.unified, 0) == 0 && !layout_.unified.empty();
    for (const auto& size : hugetlb_sizes(hd)) {
      std::string b = hd + "/hugetlb." + size;
      OrderedJson e = OrderedJson::object();
      if (hv2) {
        put_nonzero(e, "usage", read_u64(b + ".current"));
        e["failcnt"] = read_kv(b + ".events")["max"];
      } else {
        put_nonzero(e, "usage", read_u64(b + ".usage_in_bytes"));
        put_nonzero(e, "max", read_u64(b + ".max_usage_in_bytes"));
        e["failcnt"] = read_u64(b + ".failcnt");
      }
      huge[size] = e;
    }
  }
  data["hugetlb"] = huge;
  return data;
}

uint64_t Cgroup::oom_kills() const {
  std::string md = dir_for("memory");
  if (md.empty()) return 0;
  if (!layout_.unified.empty() && md.rfind(layout_.unified, 0) == 0)
    return read_kv(md + "/memory.events")["oom_kill"];
  return read_kv(md + "/memory.oom_control")["oom_kill"];
}

}  // namespace berth::runtime
