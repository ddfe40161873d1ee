#include "container/create_config.h"

#include <algorithm>
#include <set>

#include "common/strings.h"

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
    {"ContainerIDFile", "--cidfile"},  // handled client-side; never set by clients that work
    {"VolumeDriver", "--volume-driver"},
    {"Links", "--link"},
    {"Privileged", "--privileged"},
    {"SecurityOpt", "--security-opt"},
    {"StorageOpt", "--storage-opt"},
    {"UsernsMode", "--userns"},
    {"Cgroup", "--cgroup"},
    {"CgroupParent", "--cgroup-parent"},
    {"Runtime", "--runtime"},
    {"Isolation", "--isolation"},
    {"Init", "--init"},
    {"Devices", "--device"},
    {"DeviceCgroupRules", "--device-cgroup-rule"},
    {"DeviceRequests", "--gpus"},
    {"BlkioWeight", "--blkio-weight"},
    {"BlkioWeightDevice", "--blkio-weight-device"},
    {"BlkioDeviceReadBps", "--device-read-bps"},
    {"BlkioDeviceWriteBps", "--device-write-bps"},
    {"BlkioDeviceReadIOps", "--device-read-iops"},
    {"BlkioDeviceWriteIOps", "--device-write-iops"},
    {"CpuRealtimePeriod", "--cpu-rt-period"},
    {"CpuRealtimeRuntime", "--cpu-rt-runtime"},
    {"CpuCount", "--cpu-count"},
    {"CpuPercent", "--cpu-percent"},
    {"IOMaximumIOps", "--io-maxiops"},
    {"IOMaximumBandwidth", "--io-maxbandwidth"},
    {"KernelMemory", "--kernel-memory"},
    {"KernelMemoryTCP", "--kernel-memory-tcp"},
    {"OomKillDisable", "--oom-kill-disable"},
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
      "Annotations", "PortBindings", "PublishAllPorts", "VolumesFrom", "Mounts"};
  return k;
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
  if (!(ipc.empty() || ipc == "private" || ipc == "shareable" || ipc == "host"))
    return invalid("berth does not support --ipc " + ipc + " yet");
  if (ipc.empty()) hc["IpcMode"] = "private";
  std::string pid = str_of("PidMode");
  if (!(pid.empty() || pid == "host")) return invalid("berth does not support --pid " + pid + " yet");
  std::string uts = str_of("UTSMode");
  if (!(uts.empty() || uts == "host")) return invalid("berth does not support --uts " + uts + " yet");
  std::string cgns = str_of("CgroupnsMode");
  if (!(cgns.empty() || cgns == "host" || cgns == "private"))
    return invalid("invalid cgroup namespace mode: " + cgns);
  if (cgns.empty()) hc["CgroupnsMode"] = "host";

  // Restart policy: only "no" until restart policies land.
  if (auto it = hc.find("RestartPolicy"); it != hc.end() && !it->is_null()) {
    if (!it->is_object()) return type_error("HostConfig.RestartPolicy", *it, "container.RestartPolicy");
    BERTH_TRY_VOID(want_string(*it, "Name", "RestartPolicy"));
    std::string name = it->value("Name", Json("")).is_string() ? it->value("Name", "") : "";
    if (!(name.empty() || name == "no"))
      return invalid("berth does not support --restart " + name + " yet");
  }
  hc["RestartPolicy"] = Json{{"Name", "no"}, {"MaximumRetryCount", 0}};

  if (auto it = hc.find("LogConfig"); it != hc.end() && !it->is_null()) {
    if (!it->is_object()) return type_error("HostConfig.LogConfig", *it, "container.LogConfig");
    BERTH_TRY_VOID(want_string(*it, "Type", "LogConfig"));
    BERTH_TRY_VOID(want_string_map(*it, "Config", "LogConfig"));
    std::string type = it->value("Type", Json("")).is_string() ? it->value("Type", "") : "";
    if (!(type.empty() || type == "json-file" || type == "none"))
      return invalid("berth does not support --log-driver " + type + " yet (json-file, none)");
    auto cfg = it->find("Config");
    if (cfg != it->end() && cfg->is_object() && !cfg->empty())
      return invalid("berth does not support --log-opt yet");
  }
  {
    std::string type = "json-file";
    if (auto it = hc.find("LogConfig"); it != hc.end() && it->is_object() &&
                                         it->value("Type", Json("")).is_string() &&
                                         !it->value("Type", std::string()).empty())
      type = it->value("Type", std::string());
    hc["LogConfig"] = Json{{"Type", type}, {"Config", Json::object()}};
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
  if (int_of("ShmSize") < 0) return invalid("SHM size can not be less than 0");
  int64_t mem = int_of("Memory"), swap = int_of("MemorySwap");
  if (mem != 0 && mem < 6 * 1024 * 1024)
    return invalid("Minimum memory limit allowed is 6MB");
  if (swap > 0 && mem > 0 && swap < mem)
    return invalid("Minimum memoryswap limit should be larger than memory limit, see usage for details");
  if (swap != 0 && mem == 0)
    return invalid("You should always set the Memory limit when using Memoryswap limit, see usage for details");
  if (int_of("NanoCpus") != 0 && (int_of("CpuQuota") != 0 || int_of("CpuPeriod") != 0))
    return invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (int_of("OomScoreAdj") < -1000 || int_of("OomScoreAdj") > 1000)
    return invalid("Invalid value " + std::to_string(int_of("OomScoreAdj")) +
                   ", range for oom score adj is [-1000, 1000]");
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
  if (auto it = c.find("Healthcheck"); it != c.end() && !is_zero(*it))
    return invalid("berth does not support health checks yet (--health-cmd)");
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
