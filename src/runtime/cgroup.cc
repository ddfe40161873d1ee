#include "runtime/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <ctime>

#include "common/fs.h"
#include "common/strings.h"
#include "runtime/device_filter.h"

namespace berth::runtime {

namespace {
Error res_error(const std::string& field, const std::string& why) {
  return make_error(Errc::invalid, "linux.resources." + field + ": " + why);
}
std::string trim_copy(const std::string& s) { return std::string(str::trim(s)); }
}  // namespace

uint64_t blkio_weight_to_io_weight(uint64_t w) {
  if (w == 0) return 0;
  if (w < 10) w = 10;
  if (w > 1000) w = 1000;
  return 1 + (w - 10) * 9999 / 990;
}

uint64_t cpu_shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

Cgroup::Cgroup(CgroupLayout layout, std::string path) : layout_(std::move(layout)), path_(std::move(path)) {}

std::vector<std::string> Cgroup::dirs() const {
  std::vector<std::string> out;
  for (const auto& h : layout_.v1) out.push_back(h.mount_point + path_);
  if (!layout_.unified.empty()) out.push_back(layout_.unified + path_);
  return out;
}

std::string Cgroup::dir_for(const std::string& controller) const {
  if (layout_.mode == CgroupMode::v2) return layout_.unified + path_;
  if (const auto* h = layout_.find_v1(controller)) return h->mount_point + path_;
  if (!layout_.unified.empty()) {
    auto ctrls = fs::read_file(layout_.unified + "/cgroup.controllers");
    if (ctrls)
      for (const auto& c : str::split(trim_copy(*ctrls), ' '))
        if (c == controller) return layout_.unified + path_;
  }
  return {};
}

Status Cgroup::write(const std::string& dir, const char* file, const std::string& value) {
  std::string p = dir + "/" + file;
  // O_CREAT only matters on a fake tree; cgroupfs refuses to create files.
  UniqueFd fd(::open(p.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return sys_error("open " + p);
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return sys_error("write " + value + " to " + p);
  return ok();
}

Status Cgroup::check(const oci::Resources& r) const {
  bool v2 = layout_.mode == CgroupMode::v2;
  auto need = [&](const char* ctrl, const std::string& field) -> Status {
    if (v2) {
      auto ctrls = fs::read_file(layout_.unified + "/cgroup.controllers");
      if (ctrls && ctrls->find(ctrl) == std::string::npos)
        return res_error(field, std::string("the ") + ctrl + " controller is not available");
      return ok();
    }
    if (!layout_.find_v1(ctrl))
      return res_error(field, std::string("the ") + ctrl + " cgroup controller is not mounted");
    return ok();
  };
  if (r.memory) {
    const auto& m = *r.memory;
    if (m.limit || m.reservation || m.swap || m.swappiness || m.disable_oom_killer)
      BERTH_TRY_VOID(need("memory", "memory"));
    if (v2 && m.swappiness) return res_error("memory.swappiness", "not supported on cgroup v2");
    if (v2 && m.disable_oom_killer && *m.disable_oom_killer)
      return res_error("memory.disableOOMKiller", "not supported on cgroup v2");
    if (!v2 && m.swap && *m.swap != 0) {
      const auto* h = layout_.find_v1("memory");
      if (h && !fs::exists(h->mount_point + "/memory.memsw.limit_in_bytes"))
        return res_error("memory.swap", "swap accounting is not enabled on this host");
    }
  }
  if (r.cpu) {
    const auto& c = *r.cpu;
    if (c.shares || c.quota || c.period) BERTH_TRY_VOID(need("cpu", "cpu"));
    if (!c.cpus.empty() || !c.mems.empty()) BERTH_TRY_VOID(need("cpuset", "cpu.cpus"));
  }
  if (r.pids_limit) BERTH_TRY_VOID(need("pids", "pids.limit"));
  if (r.blkio_weight) {
    if (v2) {
      BERTH_TRY_VOID(need("io", "blockIO.weight"));
    } else {
      BERTH_TRY_VOID(need("blkio", "blockIO.weight"));
      const auto* h = layout_.find_v1("blkio");
      if (!fs::exists(h->mount_point + "/blkio.weight") &&
          !fs::exists(h->mount_point + "/blkio.bfq.weight"))
        return res_error("blockIO.weight", "no blkio weight file on this host (no CFQ/BFQ)");
    }
  }
  if (!r.devices.empty() && !v2) BERTH_TRY_VOID(need("devices", "devices"));
  if (!r.hugepage_limits.empty()) {
    std::string d = dir_for("hugetlb");
    if (d.empty()) return res_error("hugepageLimits", "the hugetlb cgroup controller is not available");
    for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
      // "2MB" -> /sys/kernel/mm/hugepages/hugepages-2048kB
      const std::string& ps = r.hugepage_limits[i].page_size;
      size_t n = 0;
      while (n < ps.size() && std::isdigit(static_cast<unsigned char>(ps[n]))) ++n;
      auto num = str::parse_int(ps.substr(0, n));
      std::string unit = ps.substr(n);
      int64_t kb = !num ? -1 : unit == "KB" ? *num : unit == "MB" ? *num * 1024 : unit == "GB" ? *num * 1024 * 1024 : -1;
      if (kb <= 0 || !fs::exists("/sys/kernel/mm/hugepages/hugepages-" + std::to_string(kb) + "kB"))
        return res_error("hugepageLimits[" + std::to_string(i) + "].pageSize",
                         "page size \"" + ps + "\" is not supported by this host");
    }
  }
  bool throttles = !r.throttle_read_bps.empty() || !r.throttle_write_bps.empty() ||
                   !r.throttle_read_iops.empty() || !r.throttle_write_iops.empty();
  if (throttles || !r.weight_devices.empty()) BERTH_TRY_VOID(need(v2 ? "io" : "blkio", "blockIO"));
  if (!r.unified.empty()) {
    if (layout_.unified.empty()) return res_error("unified", "requires a cgroup v2 hierarchy");
    if (!v2) return res_error("unified", "not supported on a hybrid cgroup host");
    for (const auto& [k, v] : r.unified)
      if (k.find('/') != std::string::npos || k.find("..") != std::string::npos)
        return res_error("unified", "invalid key \"" + k + "\"");
  }
  return ok();
}

Status Cgroup::create() {
  for (const auto& h : layout_.v1) {
    bool cpuset = false;
    for (const auto& c : h.controllers) cpuset |= c == "cpuset";
    // Create level by level so cpuset dirs can inherit their parent's sets.
    std::string cur = h.mount_point;
    for (const auto& part : str::split(path_, '/')) {
      if (part.empty()) continue;
      std::string parent = cur;
      cur += "/" + part;
      bool made = ::mkdir(cur.c_str(), 0755) == 0;
      if (!made && errno != EEXIST) return sys_error("mkdir " + cur);
      // Also for existing levels: a concurrent creator may not have filled
      // them in yet, and an empty cpuset refuses tasks (ENOSPC). A level we
      // just made is empty (or holds its parent's sets with clone_children,
      // which the copy rewrites unchanged): not read back.
      if (cpuset) {
        for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
          if (!made) {
            auto cur_v = fs::read_file(cur + "/" + f);
            if (cur_v && !trim_copy(*cur_v).empty()) continue;
          }
          auto pv = BERTH_TRY(fs::read_file(parent + "/" + f));
          BERTH_TRY_VOID(write(cur, f, trim_copy(pv)));
        }
      }
    }
  }
  if (!layout_.unified.empty()) {
    std::string cur = layout_.unified;
    auto parts = str::split(path_, '/');
    for (const auto& part : parts) {
      if (part.empty()) continue;
      {
        // Enable every available controller for the children of `cur`
        // (on a hybrid host: those v1 does not hold, e.g. hugetlb). Only
        // the ones not enabled yet: each write to cgroup.subtree_control
        // takes cgroup_mutex and first waits for every dying cgroup
        // (the containers just deleted) to go offline, even when it
        // changes nothing.
        auto avail = fs::read_file(cur + "/cgroup.controllers");
        if (avail) {
          auto enabled_text = fs::read_file(cur + "/cgroup.subtree_control");
          std::vector<std::string> enabled;
          if (enabled_text) enabled = str::split(trim_copy(*enabled_text), ' ');
          for (const auto& c : str::split(trim_copy(*avail), ' ')) {
            if (c.empty()) continue;
            bool on = false;
            for (const auto& e : enabled) on |= e == c;
            if (on) continue;
            (void)write(cur, "cgroup.subtree_control", "+" + c);  // best effort per controller
          }
        }
      }
      cur += "/" + part;
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return sys_error("mkdir " + cur);
    }
  }
  return ok();
}

Status Cgroup::apply(const oci::Resources& r) {
  BERTH_TRY_VOID(check(r));
  bool v2 = layout_.mode == CgroupMode::v2;
  if (r.memory) {
    const auto& m = *r.memory;
    std::string d = dir_for("memory");
    if (v2) {
      if (m.limit) BERTH_TRY_VOID(write(d, "memory.max", *m.limit < 0 ? "max" : std::to_string(*m.limit)));
      if (m.reservation) BERTH_TRY_VOID(write(d, "memory.low", std::to_string(*m.reservation)));
      if (m.swap) {
        std::string v = "max";
        if (*m.swap >= 0) {
          int64_t lim = m.limit.value_or(0);
          if (lim > 0 && *m.swap < lim)
            return res_error("memory.swap", "must be at least memory.limit");
          v = std::to_string(lim > 0 ? *m.swap - lim : *m.swap);
        }
        BERTH_TRY_VOID(write(d, "memory.swap.max", v));
      }
    } else {
      if (m.limit) BERTH_TRY_VOID(write(d, "memory.limit_in_bytes", std::to_string(*m.limit)));
      if (m.swap && *m.swap != 0) BERTH_TRY_VOID(write(d, "memory.memsw.limit_in_bytes", std::to_string(*m.swap)));
      if (m.reservation) BERTH_TRY_VOID(write(d, "memory.soft_limit_in_bytes", std::to_string(*m.reservation)));
      if (m.swappiness && *m.swappiness <= 100)
        BERTH_TRY_VOID(write(d, "memory.swappiness", std::to_string(*m.swappiness)));
      else if (m.swappiness)
        return res_error("memory.swappiness", "must be between 0 and 100");
      if (m.disable_oom_killer && *m.disable_oom_killer) BERTH_TRY_VOID(write(d, "memory.oom_control", "1"));
    }
  }
  if (r.cpu) {
    const auto& c = *r.cpu;
    std::string d = dir_for("cpu");
    if (v2) {
      if (c.shares && *c.shares) BERTH_TRY_VOID(write(d, "cpu.weight", std::to_string(cpu_shares_to_weight(*c.shares))));
      if (c.quota || c.period) {
        std::string q = (c.quota && *c.quota > 0) ? std::to_string(*c.quota) : "max";
        BERTH_TRY_VOID(write(d, "cpu.max", q + " " + std::to_string(c.period && *c.period ? *c.period : 100000)));
      }
    } else {
      if (c.shares && *c.shares) BERTH_TRY_VOID(write(d, "cpu.shares", std::to_string(*c.shares)));
      if (c.period && *c.period) BERTH_TRY_VOID(write(d, "cpu.cfs_period_us", std::to_string(*c.period)));
      if (c.quota && *c.quota != 0) BERTH_TRY_VOID(write(d, "cpu.cfs_quota_us", std::to_string(*c.quota)));
    }
    std::string cs = dir_for("cpuset");
    if (!c.cpus.empty()) BERTH_TRY_VOID(write(cs, "cpuset.cpus", c.cpus));
    if (!c.mems.empty()) BERTH_TRY_VOID(write(cs, "cpuset.mems", c.mems));
  }
  if (r.pids_limit) {
    std::string v = *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max";
    BERTH_TRY_VOID(write(dir_for("pids"), "pids.max", v));
  }
  if (r.blkio_weight) {
    if (v2) {
      // BFQ takes the v1 scale as is; io.weight wants it converted (as runc does).
      std::string d = dir_for("io");
      if (fs::exists(d + "/io.bfq.weight"))
        BERTH_TRY_VOID(write(d, "io.bfq.weight", std::to_string(*r.blkio_weight)));
      else
        BERTH_TRY_VOID(write(d, "io.weight", "default " + std::to_string(blkio_weight_to_io_weight(*r.blkio_weight))));
    } else {
      std::string d = dir_for("blkio");
      const char* f = fs::exists(d + "/blkio.weight") ? "blkio.weight" : "blkio.bfq.weight";
      BERTH_TRY_VOID(write(d, f, std::to_string(*r.blkio_weight)));
    }
  }
  {
    auto dev = [](const oci::BlockIODevice& b) { return std::to_string(b.major) + ":" + std::to_string(b.minor); };
    if (v2) {
      std::string d = dir_for("io");
      for (const auto& w : r.weight_devices)
        if (w.weight) BERTH_TRY_VOID(write(d, "io.weight", dev(w) + " " + std::to_string(blkio_weight_to_io_weight(*w.weight))));
      auto lim = [&](const std::vector<oci::BlockIODevice>& v, const char* key) -> Status {
        for (const auto& b : v) BERTH_TRY_VOID(write(d, "io.max", dev(b) + " " + key + "=" + std::to_string(b.rate)));
        return ok();
      };
      BERTH_TRY_VOID(lim(r.throttle_read_bps, "rbps"));
      BERTH_TRY_VOID(lim(r.throttle_write_bps, "wbps"));
      BERTH_TRY_VOID(lim(r.throttle_read_iops, "riops"));
      BERTH_TRY_VOID(lim(r.throttle_write_iops, "wiops"));
    } else {
      std::string d = dir_for("blkio");
      for (const auto& w : r.weight_devices)
        if (w.weight) BERTH_TRY_VOID(write(d, "blkio.weight_device", dev(w) + " " + std::to_string(*w.weight)));
      auto lim = [&](const std::vector<oci::BlockIODevice>& v, const char* file) -> Status {
        for (const auto& b : v) BERTH_TRY_VOID(write(d, file, dev(b) + " " + std::to_string(b.rate)));
        return ok();
      };
      BERTH_TRY_VOID(lim(r.throttle_read_bps, "blkio.throttle.read_bps_device"));
      BERTH_TRY_VOID(lim(r.throttle_write_bps, "blkio.throttle.write_bps_device"));
      BERTH_TRY_VOID(lim(r.throttle_read_iops, "blkio.throttle.read_iops_device"));
      BERTH_TRY_VOID(lim(r.throttle_write_iops, "blkio.throttle.write_iops_device"));
    }
  }
  if (!r.hugepage_limits.empty()) {
    std::string d = dir_for("hugetlb");
    bool hv2 = v2 || (!layout_.unified.empty() && str::starts_with(d, layout_.unified + "/"));
    for (const auto& h : r.hugepage_limits) {
      std::string f = "hugetlb." + h.page_size + (hv2 ? ".max" : ".limit_in_bytes");
      BERTH_TRY_VOID(write(d, f.c_str(), std::to_string(h.limit)));
    }
  }
  if (!r.devices.empty() && v2) {
    auto prog = compile_device_filter(r.devices);
    UniqueFd fd = BERTH_TRY(load_device_filter(prog));
    BERTH_TRY_VOID(attach_device_filter(layout_.unified + path_, fd.get()));
  } else if (!r.devices.empty()) {
    std::string d = dir_for("devices");
    // devices.allow and devices.deny are opened once each: cgroupfs takes
    // every write() as one rule, in order (a default container has 13).
    UniqueFd allow_fd, deny_fd;
    for (const auto& rule : r.devices) {
      std::string type = rule.type.empty() ? "a" : rule.type;
      std::string line = type;
      if (type != "a") {
        line += " " + (rule.major && *rule.major >= 0 ? std::to_string(*rule.major) : std::string("*"));
        line += ":" + (rule.minor && *rule.minor >= 0 ? std::to_string(*rule.minor) : std::string("*"));
        line += " " + (rule.access.empty() ? std::string("rwm") : rule.access);
      }
      UniqueFd& fd = rule.allow ? allow_fd : deny_fd;
      std::string p = d + (rule.allow ? "/devices.allow" : "/devices.deny");
      if (!fd) {
        // O_CREAT only matters on a fake tree (see write()).
        fd.reset(::open(p.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644));
        if (!fd) return sys_error("open " + p);
      }
      if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        return sys_error("write " + line + " to " + p);
    }
  }
  for (const auto& [k, v] : r.unified) BERTH_TRY_VOID(write(layout_.unified + path_, k.c_str(), v));
  return ok();
}

Status Cgroup::add_pid(pid_t pid) {
  std::string v = std::to_string(pid);
  for (const auto& d : dirs()) BERTH_TRY_VOID(write(d, "cgroup.procs", v));
  return ok();
}

Result<std::vector<pid_t>> Cgroup::pids() const { return cgroup_pids(dirs()); }

Status Cgroup::destroy() { return remove_cgroup_dirs(dirs()); }

Result<std::vector<pid_t>> cgroup_pids(const std::vector<std::string>& dirs) {
  for (const auto& d : dirs) {
    auto text = fs::read_file(d + "/cgroup.procs");
    if (!text) continue;
    std::vector<pid_t> out;
    for (const auto& l : str::split(*text, '\n'))
      if (auto n = str::parse_int(str::trim(l)); n && *n > 0) out.push_back(static_cast<pid_t>(*n));
    return out;
  }
  return std::vector<pid_t>{};
}

Status remove_cgroup_dirs(const std::vector<std::string>& dirs) {
  Status first;
  for (const auto& d : dirs) {
    // EBUSY while killed tasks are still exiting: retried, 1 ms steps
    // first, ~1 s in all. An empty cgroup goes at the first rmdir.
    for (int attempt = 0;; ++attempt) {
      if (::rmdir(d.c_str()) == 0 || errno == ENOENT) break;
      if (errno == EBUSY && attempt < 110) {
        timespec ts{0, (attempt < 10 ? 1 : 10) * 1000 * 1000L};
        ::nanosleep(&ts, nullptr);
        continue;
      }
      if (first) first = sys_error("rmdir " + d);
      break;
    }
  }
  return first;
}

// Device rules as runc applies them: the spec's rules, then the devices
// every container gets (null, zero, full, random, urandom, tty, console,
// ptmx, pts). A device listed in linux.devices gets its node only, no rule:
// `--device /dev/fuse:r` is allowed "r" by the spec's own rule, as runc
// does, never rwm. An added allow rule that
// repeats one already in force (an identical allow after the last deny) is
// left out: berthd's spec already allows Docker's default list, and each
// cgroup v1 rule is one write to devices.allow/deny (a default container's
// 28 writes became 13); it changes nothing, since later rules only allow.
oci::Resources with_default_devices(const oci::Resources& r) {
  oci::Resources out = r;
  if (r.devices.empty()) return out;
  size_t in_force = 0;  // rules from here on are allows after the last deny
  for (size_t i = 0; i < out.devices.size(); ++i)
    if (!out.devices[i].allow) in_force = i + 1;
  auto allow = [&](const char* type, int64_t major, std::optional<int64_t> minor, const char* access) {
    oci::DeviceCgroupRule d;
    d.allow = true;
    d.type = type;
    d.major = major;
    d.minor = minor;
    d.access = access;
    for (size_t i = in_force; i < out.devices.size(); ++i) {
      const auto& e = out.devices[i];
      if (e.type == d.type && e.major == d.major && e.minor == d.minor && e.access == d.access) return;
    }
    out.devices.push_back(d);
  };
  for (int64_t minor : {3, 5, 7, 8, 9}) allow("c", 1, minor, "rwm");
  allow("c", 5, 0, "rwm");
  allow("c", 5, 1, "rwm");
  allow("c", 5, 2, "rwm");
  allow("c", 136, std::nullopt, "rwm");
  return out;
}

}  // namespace berth::runtime
