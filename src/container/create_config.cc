#include "container/create_config.h"

#include <algorithm>
#include <unistd.h>

#include <optional>
#include <set>

#include "common/strings.h"
#include "container/health.h"
#include "container/restart.h"

namespace berth::container {

namespace {

Error invalid(std::string m) { return make_error(Errc::invalid, std::move(m)); }

std::string type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "bool";
    case Json::value_t::string: return "string";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "object";
    case Json::value_t::number_float: return "number";
    default: return "number";
  }
}

Error type_error(std::string_view field, const Json& v, std::string_view want) {
  return invalid("json: cannot unmarshal " + type_name(v) + " into Go struct field " +
                 std::string(field) + " of type " + std::string(want));
}

// Field type checks; null is always accepted (Go leaves the zero value).
Status want_string(const Json& o, const char* key, const char* where) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null() || it->is_string()) return ok();
  return type_error(std::string(where) + "." + key, *it, "string");
}
Status want_bool(const Json& o, const char* key, const char* where) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null() || it->is_boolean()) return ok();
  return type_error(std::string(where) + "." + key, *it, "bool");
}
Status want_int(const Json& o, const char* key, const char* where) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null() || it->is_number_integer()) return ok();
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return ok();
  }
  return type_error(std::string(where) + "." + key, *it, "int64");
}
Status want_string_array(const Json& o, const char* key, const char* where) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return ok();
  if (it->is_array()) {
    for (const auto& e : *it)
      if (!e.is_string()) return type_error(std::string(where) + "." + key, e, "string");
    return ok();
  }
  return type_error(std::string(where) + "." + key, *it, "[]string");
}
// StrSlice: a string or an array of strings.
Status want_str_slice(const Json& o, const char* key, const char* where) {
  auto it = o.find(key);
  if (it != o.end() && it->is_string()) return ok();
  return want_string_array(o, key, where);
}
Status want_object(const Json& o, const char* key, const char* where) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null() || it->is_object()) return ok();
  return type_error(std::string(where) + "." + key, *it, "map");
}
Status want_string_map(const Json& o, const char* key, const char* where) {
  BERTH_TRY_VOID(want_object(o, key, where));
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return ok();
  for (const auto& [k, v] : it->items())
    if (!v.is_string()) return type_error(std::string(where) + "." + key, v, "string");
  return ok();
}

std::vector<std::string> str_slice(const Json& v) {
  std::vector<std::string> out;
  if (v.is_string()) {
    // Docker's StrSlice: a bare string is one element.
    out.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    for (const auto& e : v) out.push_back(e.get<std::string>());
  }
  return out;
}

std::string env_key(const std::string& kv) { return kv.substr(0, kv.find('=')); }

bool is_zero(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return true;
    case Json::value_t::boolean: return !v.get<bool>();
    case Json::value_t::string: return v.get<std::string>().empty();
    case Json::value_t::array: return v.empty();
    case Json::value_t::object: {
      for (const auto& [k, e] : v.items())
        if (!is_zero(e)) return false;
      return true;
    }
    case Json::value_t::number_float: return v.get<double>() == 0;
    default: return v.get<int64_t>() == 0;
  }
}

struct Unsupported {
  const char* field;
  const char* flag;
};
// HostConfig fields berth does not implement yet; a non-default value is
// refused rather than silently ignored.
constexpr Unsupported kUnsupported[] = {
    {"VolumeDriver", "--volume-driver"},
    {"UsernsMode", "--userns"},
    {"Cgroup", "--cgroup"},
    {"CgroupParent", "--cgroup-parent"},
    {"Isolation", "--isolation"},
    {"DeviceCgroupRules", "--device-cgroup-rule"},
    {"DeviceRequests", "--gpus"},
    {"BlkioWeightDevice", "--blkio-weight-device"},
    {"CpuRealtimePeriod", "--cpu-rt-period"},
    {"CpuRealtimeRuntime", "--cpu-rt-runtime"},
    {"CpuCount", "--cpu-count"},
    {"CpuPercent", "--cpu-percent"},
    {"IOMaximumIOps", "--io-maxiops"},
    {"IOMaximumBandwidth", "--io-maxbandwidth"},
    {"KernelMemory", "--kernel-memory"},
    {"KernelMemoryTCP", "--kernel-memory-tcp"},
    {"MaskedPaths", "MaskedPaths"},
    {"ReadonlyPaths", "ReadonlyPaths"},
};

// Fields berth implements (validated below) or that carry no behaviour.
const std::set<std::string>& known_fields() {
  static const std::set<std::string> k = {
      "Binds", "NetworkMode", "RestartPolicy", "AutoRemove", "ConsoleSize", "CapAdd", "CapDrop",
      "CgroupnsMode", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "IpcMode",
      "OomScoreAdj", "PidMode", "ReadonlyRootfs", "UTSMode", "ShmSize", "Sysctls", "Tmpfs",
      "Ulimits", "LogConfig", "Memory", "MemoryReservation", "MemorySwap", "MemorySwappiness",
      "CpuShares", "CpuPeriod", "CpuQuota", "NanoCpus", "CpusetCpus", "CpusetMems", "PidsLimit",
      "Annotations", "PortBindings", "PublishAllPorts", "VolumesFrom", "Mounts", "Privileged", "SecurityOpt", "Init", "Devices", "BlkioWeight",
      "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps",
      "OomKillDisable", "Runtime", "Links",
      // --storage-opt: applied with the container's layer (storage_opt.cc).
      "StorageOpt",
      // --cidfile: the client writes the file; dockerd only records the path.
      "ContainerIDFile"};
  return k;
}


// "0-2,4" → the set of numbers; nullopt when malformed.
std::optional<std::set<int>> parse_cpuset(const std::string& v) {
  std::set<int> out;
  if (v.empty()) return out;
  for (const auto& part : str::split(v, ',')) {
    auto dash = part.find('-');
    auto a = str::parse_int(part.substr(0, dash));
    if (!a || *a < 0) return std::nullopt;
    int64_t b = *a;
    if (dash != std::string::npos) {
      auto bb = str::parse_int(part.substr(dash + 1));
      if (!bb || *bb < *a) return std::nullopt;
      b = *bb;
    }
    for (int64_t i = *a; i <= b && i < 4096; ++i) out.insert(static_cast<int>(i));
  }
  return out;
}

Status check_cpuset(const std::string& v, int available, const char* what, const char* missing) {
  auto set = parse_cpuset(v);
  if (!set) return invalid("Invalid value " + v + " for cpuset " + what);
  for (int c : *set)
    if (c >= available)
      return invalid(std::string("Requested ") + missing + " are not available - requested " + v +
                     ", available: " + (available == 1 ? std::string("0") : "0-" + std::to_string(available - 1)));
  return ok();
}

template <class IntOf>
Status check_resources(const Json& hc, IntOf int_of) {
  constexpr int64_t kMin = 6 * 1024 * 1024;
  int64_t mem = int_of("Memory"), swap = int_of("MemorySwap"), res = int_of("MemoryReservation");
  if (mem < 0) return invalid("Invalid value " + std::to_string(mem) + " for memory limit");
  if (mem > 0 && mem < kMin) return invalid("Minimum memory limit allowed is 6MB");
  if (swap > 0 && mem == 0)
    return invalid("You should always set the Memory limit when using Memoryswap limit, see usage");
  if (mem > 0 && swap > 0 && swap < mem)
    return invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
  if (res > 0 && res < kMin) return invalid("Minimum memory reservation allowed is 6MB");
  if (mem > 0 && res > 0 && mem < res)
    return invalid("Minimum memory limit can not be less than memory reservation limit, see usage");
  if (auto it = hc.find("MemorySwappiness"); it != hc.end() && it->is_number()) {
    int64_t v = it->get<int64_t>();
    if (v != -1 && (v < 0 || v > 100))
      return invalid("Invalid value: " + std::to_string(v) + ", valid memory swappiness range is 0-100");
  }
  int64_t nano = int_of("NanoCpus"), quota = int_of("CpuQuota"), period = int_of("CpuPeriod");
  if (nano != 0 && quota != 0)
    return invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  if (nano != 0 && period != 0)
    return invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  long ncpu = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 1) ncpu = 1;
  if (nano < 0 || nano > ncpu * 1000000000L)
    return invalid("Range of CPUs is from 0.01 to " + std::to_string(ncpu) + ".00, as there are only " +
                   std::to_string(ncpu) + " CPUs available");
  if (period != 0 && (period < 1000 || period > 1000000))
    return invalid("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  if (quota > 0 && quota < 1000) return invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (int_of("CpuShares") < 0) return invalid("shares: invalid argument");
  if (auto it = hc.find("CpusetCpus"); it != hc.end() && it->is_string())
    BERTH_TRY_VOID(check_cpuset(it->get<std::string>(), static_cast<int>(ncpu), "cpus", "CPUs"));
  if (auto it = hc.find("CpusetMems"); it != hc.end() && it->is_string())
    BERTH_TRY_VOID(check_cpuset(it->get<std::string>(), 1, "mems", "memory nodes"));
  int64_t bw = int_of("BlkioWeight");
  if (bw != 0 && (bw < 10 || bw > 1000)) return invalid("Range of blkio weight is from 10 to 1000");
  for (const char* k : {"BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps",
                        "BlkioDeviceWriteIOps"}) {
    auto it = hc.find(k);
    if (it == hc.end() || it->is_null()) continue;
    if (!it->is_array()) return type_error(std::string("HostConfig.") + k, *it, "[]*blkiodev.ThrottleDevice");
    for (const auto& d : *it) {
      if (!d.is_object() || !d.value("Path", Json()).is_string() || !d.value("Rate", Json()).is_number_unsigned())
        return invalid(std::string("invalid HostConfig.") + k + " entry: want {\"Path\":\"/dev/…\",\"Rate\":N}");
    }
  }
  if (int_of("ShmSize") < 0) return invalid("SHM size can not be less than 0");
  int64_t oom = int_of("OomScoreAdj");
  if (oom < -1000 || oom > 1000)
    return invalid("Invalid value " + std::to_string(oom) + ", range for oom score adj is [-1000, 1000]");
  return ok();
}

Status check_devices(const Json& hc) {
  auto it = hc.find("Devices");
  if (it == hc.end() || it->is_null()) return ok();
  if (!it->is_array()) return type_error("HostConfig.Devices", *it, "[]container.DeviceMapping");
  for (const auto& d : *it) {
    if (!d.is_object()) return type_error("HostConfig.Devices", d, "container.DeviceMapping");
    std::string host = d.value("PathOnHost", std::string());
    std::string perms = d.value("CgroupPermissions", std::string("rwm"));
    if (host.empty() || host[0] != '/') return invalid("invalid device path: " + host);
    std::string ctr = d.value("PathInContainer", std::string());
    if (!ctr.empty() && ctr[0] != '/') return invalid(ctr + " is not an absolute path");
    for (char c : perms)
      if (c != 'r' && c != 'w' && c != 'm') return invalid("invalid device mode: " + perms);
  }
  return ok();
}

// Docker's namespaced sysctls (the only ones a container may set).
bool namespaced_sysctl(const std::string& k) {
  static const std::set<std::string> ipc = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                            "kernel.sem", "kernel.shmall", "kernel.shmmax",
                                            "kernel.shmmni", "kernel.shm_rmid_forced"};
  return ipc.count(k) || str::starts_with(k, "fs.mqueue.") || str::starts_with(k, "net.") ||
         k == "kernel.domainname" || k == "kernel.hostname";
}

Status check_sysctls(const Json& hc) {
  auto it = hc.find("Sysctls");
  if (it == hc.end() || !it->is_object()) return ok();
  std::string net = hc.value("NetworkMode", std::string());
  std::string ipc = hc.value("IpcMode", std::string());
  std::string uts = hc.value("UTSMode", std::string());
  for (const auto& [k, v] : it->items()) {
    if (!namespaced_sysctl(k)) return invalid("sysctl '" + k + "' is not whitelisted");
    if (str::starts_with(k, "net.") && (net == "host" || str::starts_with(net, "container:")))
      return invalid("sysctl '" + k + "' not allowed in host network namespace");
    if (((str::starts_with(k, "kernel.") && k != "kernel.domainname" && k != "kernel.hostname") ||
         str::starts_with(k, "fs.mqueue.")) &&
        ipc == "host")
      return invalid("sysctl '" + k + "' not allowed with host IPC namespace");
    if ((k == "kernel.domainname" || k == "kernel.hostname") && uts == "host")
      return invalid("sysctl '" + k + "' not allowed with host UTS namespace");
  }
  return ok();
}

Status check_host_config(Json& hc) {
  const char* w = "HostConfig";
  if (!hc.is_object()) return type_error("ContainerCreateConfig.HostConfig", hc, "container.HostConfig");
  for (const auto& u : kUnsupported) {
    auto it = hc.find(u.field);
    if (it == hc.end() || is_zero(*it)) continue;
    if (std::string_view(u.field) == "Isolation" && it->is_string() &&
        it->get<std::string>() == "default")
      continue;
    return invalid(std::string("berth does not support ") + u.flag + " (HostConfig." + u.field +
                   ") yet");
  }
  for (const auto& [k, v] : hc.items()) {
    bool listed = known_fields().count(k) != 0;
    for (const auto& u : kUnsupported)
      if (k == u.field) listed = true;
    if (!listed && !is_zero(v))
      return invalid("berth does not support HostConfig." + k + " yet");
  }
  for (const char* k : {"NetworkMode", "IpcMode", "PidMode", "UTSMode", "CgroupnsMode",
                        "CpusetCpus", "CpusetMems"})
    BERTH_TRY_VOID(want_string(hc, k, w));
  for (const char* k : {"AutoRemove", "ReadonlyRootfs"}) BERTH_TRY_VOID(want_bool(hc, k, w));
  for (const char* k : {"OomScoreAdj", "ShmSize", "Memory", "MemoryReservation", "MemorySwap",
                        "MemorySwappiness", "CpuShares", "CpuPeriod", "CpuQuota", "NanoCpus",
                        "PidsLimit"})
    BERTH_TRY_VOID(want_int(hc, k, w));
  for (const char* k : {"Binds", "CapAdd", "CapDrop", "Dns", "DnsOptions", "DnsSearch",
                        "ExtraHosts", "GroupAdd"})
    BERTH_TRY_VOID(want_string_array(hc, k, w));
  BERTH_TRY_VOID(want_string_map(hc, "Sysctls", w));
  BERTH_TRY_VOID(want_string_map(hc, "Tmpfs", w));

  auto str_of = [&](const char* k) {
    auto it = hc.find(k);
    return it != hc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto int_of = [&](const char* k) -> int64_t {
    auto it = hc.find(k);
    return it != hc.end() && it->is_number() ? it->get<int64_t>() : 0;
  };

  std::string nm = str_of("NetworkMode");
  hc["NetworkMode"] = nm.empty() ? "default" : nm;
  std::string ipc = str_of("IpcMode");
  if (!(ipc.empty() || ipc == "private" || ipc == "shareable" || ipc == "host" || ipc == "none" ||
        (str::starts_with(ipc, "container:") && ipc.size() > 10)))
    return invalid("invalid IPC mode: " + ipc);
  if (ipc.empty()) hc["IpcMode"] = "private";
  std::string pid = str_of("PidMode");
  if (!(pid.empty() || pid == "host" || (str::starts_with(pid, "container:") && pid.size() > 10)))
    return invalid("invalid PID mode: " + pid);
  std::string uts = str_of("UTSMode");
  if (!(uts.empty() || uts == "host")) return invalid("invalid UTS mode: " + uts);
  std::string cgns = str_of("CgroupnsMode");
  if (!(cgns.empty() || cgns == "host" || cgns == "private"))
    return invalid("invalid cgroup namespace mode: " + cgns);
  if (cgns.empty()) hc["CgroupnsMode"] = "host";

  BERTH_TRY_VOID(check_restart_policy(hc));  // container/restart.cc

  if (auto it = hc.find("LogConfig"); it != hc.end() && !it->is_null()) {
    if (!it->is_object()) return type_error("HostConfig.LogConfig", *it, "container.LogConfig");
    BERTH_TRY_VOID(want_string(*it, "Type", "LogConfig"));
    BERTH_TRY_VOID(want_string_map(*it, "Config", "LogConfig"));
  }
  {
    // The daemon's defaults are merged and the options validated by the
    // container service (logging::validate_log_config): Type may stay "".
    std::string type;
    Json cfg = Json::object();
    if (auto it = hc.find("LogConfig"); it != hc.end() && it->is_object()) {
      if (it->value("Type", Json("")).is_string()) type = it->value("Type", std::string());
      if (auto c = it->find("Config"); c != it->end() && c->is_object()) cfg = *c;
    }
    hc["LogConfig"] = Json{{"Type", type}, {"Config", cfg}};
  }

  if (auto it = hc.find("Binds"); it != hc.end() && it->is_array()) {
    for (const auto& b : *it) {
      auto parts = str::split(b.get<std::string>(), ':');
      if (parts.size() < 2 || parts.size() > 3 || parts[1].empty() || parts[1][0] != '/')
        return invalid("invalid volume specification: '" + b.get<std::string>() + "'");
      if (parts.size() == 3) {
        for (const auto& o : str::split(parts[2], ',')) {
          if (o == "ro" || o == "rw" || o == "z" || o == "Z" || o == "rprivate" ||
              o == "private" || o == "rslave" || o == "slave" || o == "rshared" ||
              o == "shared" || o == "nocopy")
            continue;
          return invalid("invalid mode: " + o);
        }
      }
    }
  }
  if (auto it = hc.find("Ulimits"); it != hc.end() && !it->is_null()) {
    if (!it->is_array()) return type_error("HostConfig.Ulimits", *it, "[]*units.Ulimit");
    static const std::set<std::string> names = {"core", "cpu", "data", "fsize", "locks",
                                                "memlock", "msgqueue", "nice", "nofile", "nproc",
                                                "rss", "rtprio", "rttime", "sigpending", "stack",
                                                "as"};
    for (const auto& u : *it) {
      if (!u.is_object() || !u.value("Name", Json()).is_string())
        return invalid("invalid ulimit in HostConfig.Ulimits");
      BERTH_TRY_VOID(want_int(u, "Soft", "Ulimit"));
      BERTH_TRY_VOID(want_int(u, "Hard", "Ulimit"));
      if (!names.count(u.value("Name", std::string())))
        return invalid("invalid ulimit type: " + u.value("Name", std::string()));
    }
  }
  BERTH_TRY_VOID(effective_capabilities(hc.value("CapAdd", Json()), hc.value("CapDrop", Json())));
  BERTH_TRY_VOID(want_bool(hc, "Privileged", w));
  BERTH_TRY_VOID(want_bool(hc, "OomKillDisable", w));
  BERTH_TRY_VOID(want_string_array(hc, "SecurityOpt", w));
  BERTH_TRY_VOID(want_int(hc, "BlkioWeight", w));
  BERTH_TRY_VOID(parse_security_opts(hc.value("SecurityOpt", Json())));
  BERTH_TRY_VOID(check_devices(hc));
  BERTH_TRY_VOID(check_resources(hc, int_of));
  BERTH_TRY_VOID(check_sysctls(hc));
  if (hc.find("AutoRemove") == hc.end() || hc["AutoRemove"].is_null()) hc["AutoRemove"] = false;
  return ok();
}

Status check_config(const Json& c) {
  const char* w = "Config";
  for (const char* k : {"Hostname", "Domainname", "User", "Image", "WorkingDir", "StopSignal",
                        "MacAddress"})
    BERTH_TRY_VOID(want_string(c, k, w));
  for (const char* k : {"AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
                        "StdinOnce", "NetworkDisabled", "ArgsEscaped"})
    BERTH_TRY_VOID(want_bool(c, k, w));
  BERTH_TRY_VOID(want_string_array(c, "Env", w));
  BERTH_TRY_VOID(want_string_array(c, "OnBuild", w));
  BERTH_TRY_VOID(want_str_slice(c, "Cmd", w));
  BERTH_TRY_VOID(want_str_slice(c, "Entrypoint", w));
  BERTH_TRY_VOID(want_string_map(c, "Labels", w));
  BERTH_TRY_VOID(want_object(c, "Volumes", w));
  BERTH_TRY_VOID(want_object(c, "ExposedPorts", w));
  BERTH_TRY_VOID(want_int(c, "StopTimeout", w));
  BERTH_TRY_VOID(check_healthcheck(c));  // container/health.cc
  if (auto it = c.find("Hostname"); it != c.end() && it->is_string() && !it->get<std::string>().empty()) {
    const auto& h = it->get_ref<const std::string&>();
    if (h.size() > 63) return invalid("invalid hostname format: " + h);
  }
  return ok();
}

}  // namespace

std::vector<std::string> replace_or_append_env(std::vector<std::string> base,
                                               const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) {
    std::string k = env_key(o);
    if (o.find('=') == std::string::npos) {
      // dockerd: a name without '=' (docker run -e NAME with NAME unset in
      // the client) unsets it, defaults included.
      std::erase_if(base, [&](const std::string& b) { return env_key(b) == k; });
      continue;
    }
    bool replaced = false;
    for (auto& b : base)
      if (env_key(b) == k) {
        b = o;
        replaced = true;
      }
    if (!replaced) base.push_back(o);
  }
  return base;
}

const std::vector<std::string>& default_capabilities() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",     "CAP_FOWNER", "CAP_MKNOD",
      "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",     "CAP_SETFCAP", "CAP_SETPCAP",
      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
  return caps;
}

const std::vector<std::string>& all_capabilities() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
      "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
      "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
      "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
      "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
      "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
      "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
      "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
      "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};
  return caps;
}

Result<std::string> normalize_capability(std::string_view name) {
  std::string up;
  for (char c : name) up += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  if (!str::starts_with(up, "CAP_")) up = "CAP_" + up;
  for (const auto& c : all_capabilities())
    if (c == up) return up;
  return invalid("unknown capability: \"" + up + "\"");
}

Result<std::vector<std::string>> effective_capabilities(const Json& cap_add, const Json& cap_drop) {
  auto list = [](const Json& v) {
    std::vector<std::string> out;
    if (v.is_array())
      for (const auto& e : v)
        if (e.is_string()) out.push_back(e.get<std::string>());
    return out;
  };
  auto is_all = [](const std::string& s) { return str::to_lower(s) == "all" || str::to_lower(s) == "cap_all"; };
  std::vector<std::string> add = list(cap_add), drop = list(cap_drop);
  std::vector<std::string> caps = default_capabilities();
  bool drop_all = std::any_of(drop.begin(), drop.end(), is_all);
  bool add_all = std::any_of(add.begin(), add.end(), is_all);
  if (drop_all) caps.clear();
  for (const auto& d : drop) {
    if (is_all(d)) continue;
    std::string c = BERTH_TRY(normalize_capability(d));
    caps.erase(std::remove(caps.begin(), caps.end(), c), caps.end());
  }
  if (add_all) caps = all_capabilities();
  for (const auto& a : add) {
    if (is_all(a)) continue;
    std::string c = BERTH_TRY(normalize_capability(a));
    if (std::find(caps.begin(), caps.end(), c) == caps.end()) caps.push_back(c);
  }
  if (add_all) {
    for (const auto& d : drop) {
      if (is_all(d)) continue;
      std::string c = BERTH_TRY(normalize_capability(d));
      caps.erase(std::remove(caps.begin(), caps.end(), c), caps.end());
    }
  }
  return caps;
}

Result<SecurityOpts> parse_security_opts(const Json& opts) {
  SecurityOpts out;
  if (!opts.is_array()) return out;
  for (const auto& o : opts) {
    if (!o.is_string()) return type_error("HostConfig.SecurityOpt", o, "string");
    std::string opt = o.get<std::string>();
    if (opt == "no-new-privileges") {
      out.no_new_privileges = true;
      continue;
    }
    if (opt == "disable") {  // old label:disable spelling
      continue;
    }
    auto pos = opt.find('=');
    if (pos == std::string::npos) pos = opt.find(':');
    if (pos == std::string::npos) return invalid("invalid --security-opt 1: \"" + opt + "\"");
    std::string key = opt.substr(0, pos), val = opt.substr(pos + 1);
    if (key == "no-new-privileges") {
      if (val == "true" || val == "1") {
        out.no_new_privileges = true;
      } else if (val == "false" || val == "0") {
        out.no_new_privileges = false;
      } else {
        return invalid("invalid --security-opt 2: \"" + opt + "\"");
      }
    } else if (key == "seccomp") {
      if (val.empty()) return invalid("invalid --security-opt 2: \"" + opt + "\"");
      out.seccomp = val;
    } else if (key == "apparmor") {
      return invalid("AppArmor is not enabled on this host: --security-opt apparmor=" + val +
                     " cannot be applied");
    } else if (key == "label") {
      if (val == "disable") continue;
      return invalid("SELinux is not enabled on this host: --security-opt label=" + val +
                     " cannot be applied (only label=disable)");
    } else if (key == "systempaths") {
      if (val != "unconfined") return invalid("invalid --security-opt 2: \"" + opt + "\"");
      out.unmask_paths = true;
    } else {
      return invalid("invalid --security-opt 2: \"" + opt + "\"");
    }
  }
  if (!out.seccomp.empty() && out.seccomp != "unconfined" && out.seccomp != "builtin") {
    auto j = parse_json(out.seccomp);
    if (!j) return invalid("Decoding seccomp profile failed: " + j.error().msg);
  }
  return out;
}

Result<CreateRequest> prepare_create(const Json& body, const Json& image_config) {
  if (!body.is_object()) return invalid("config cannot be empty in order to create a container");
  Json config = Json::object();
  for (const auto& [k, v] : body.items())
    if (k != "HostConfig" && k != "NetworkingConfig") config[k] = v;
  BERTH_TRY_VOID(check_config(config));
  Json hc = body.contains("HostConfig") && !body["HostConfig"].is_null() ? body["HostConfig"]
                                                                          : Json::object();
  BERTH_TRY_VOID(check_host_config(hc));
  Json nc = body.contains("NetworkingConfig") && !body["NetworkingConfig"].is_null()
                ? body["NetworkingConfig"]
                : Json::object();
  if (!nc.is_object())
    return type_error("ContainerCreateConfig.NetworkingConfig", nc, "network.NetworkingConfig");

  const Json img = image_config.is_object() ? image_config : Json::object();
  auto img_str = [&](const char* k) {
    auto it = img.find(k);
    return it != img.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto cfg_str = [&](const char* k) {
    auto it = config.find(k);
    return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  // moby's merge(userConf, imageConf).
  if (cfg_str("User").empty()) config["User"] = img_str("User");
  if (cfg_str("WorkingDir").empty()) config["WorkingDir"] = img_str("WorkingDir");
  if (cfg_str("StopSignal").empty() && !img_str("StopSignal").empty())
    config["StopSignal"] = img_str("StopSignal");
  std::vector<std::string> env = config.contains("Env") ? str_slice(config["Env"]) : std::vector<std::string>{};
  std::vector<std::string> img_env = img.contains("Env") ? str_slice(img["Env"]) : std::vector<std::string>{};
  if (env.empty()) {
    env = img_env;
  } else {
    for (const auto& ie : img_env) {
      bool found = false;
      for (const auto& ue : env)
        if (env_key(ue) == env_key(ie)) found = true;
      if (!found) env.push_back(ie);
    }
  }
  config["Env"] = env.empty() ? Json(nullptr) : Json(env);
  Json labels = img.contains("Labels") && img["Labels"].is_object() ? img["Labels"] : Json::object();
  if (config.contains("Labels") && config["Labels"].is_object())
    for (const auto& [k, v] : config["Labels"].items()) labels[k] = v;
  config["Labels"] = labels;
  if (img.contains("Healthcheck") && img["Healthcheck"].is_object())
    config["Healthcheck"] = merge_healthcheck(config.value("Healthcheck", Json()), img["Healthcheck"]);
  Json ports = img.contains("ExposedPorts") && img["ExposedPorts"].is_object() ? img["ExposedPorts"]
                                                                              : Json::object();
  if (config.contains("ExposedPorts") && config["ExposedPorts"].is_object())
    for (const auto& [k, v] : config["ExposedPorts"].items()) ports[k] = v;
  if (!ports.empty()) config["ExposedPorts"] = ports;

  std::vector<std::string> entrypoint =
      config.contains("Entrypoint") ? str_slice(config["Entrypoint"]) : std::vector<std::string>{};
  std::vector<std::string> cmd = config.contains("Cmd") ? str_slice(config["Cmd"]) : std::vector<std::string>{};
  bool entrypoint_given = config.contains("Entrypoint") && !config["Entrypoint"].is_null();
  if (entrypoint.size() == 1 && entrypoint[0].empty()) {
    // `--entrypoint ""` resets the image's entrypoint.
    entrypoint.clear();
  } else if (entrypoint.empty()) {
    if (cmd.empty() && img.contains("Cmd")) cmd = str_slice(img["Cmd"]);
    if (!entrypoint_given && img.contains("Entrypoint")) entrypoint = str_slice(img["Entrypoint"]);
  }
  config["Entrypoint"] = entrypoint.empty() ? Json(nullptr) : Json(entrypoint);
  config["Cmd"] = cmd.empty() ? Json(nullptr) : Json(cmd);
  std::vector<std::string> argv = entrypoint;
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  if (argv.empty()) return invalid("No command specified");

  // Fill in the fields inspect always shows.
  for (const char* k : {"Hostname", "Domainname", "User", "WorkingDir", "Image"})
    if (!config.contains(k) || config[k].is_null()) config[k] = "";
  for (const char* k : {"AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
                        "StdinOnce"})
    if (!config.contains(k) || config[k].is_null()) config[k] = false;
  if (!config.contains("OnBuild")) config["OnBuild"] = nullptr;
  if (!config.contains("Volumes")) config["Volumes"] = nullptr;

  CreateRequest r;
  r.path = argv[0];
  r.args.assign(argv.begin() + 1, argv.end());
  r.config = std::move(config);
  r.host_config = std::move(hc);
  r.networking_config = std::move(nc);
  return r;
}

}  // namespace berth::container
