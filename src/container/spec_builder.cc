#include "container/spec_builder.h"

#include <algorithm>
#include <cctype>

#include "common/strings.h"
#include "container/create_config.h"
#include "container/seccomp_profile.h"

namespace berth::container {

namespace {

Json mount(const char* dest, const char* type, const char* src, std::vector<std::string> opts) {
  return Json{{"destination", dest}, {"type", type}, {"source", src}, {"options", std::move(opts)}};
}

std::string hc_str(const Json& hc, const char* k) {
  auto it = hc.find(k);
  return it != hc.end() && it->is_string() ? it->get<std::string>() : std::string();
}
int64_t hc_int(const Json& hc, const char* k) {
  auto it = hc.find(k);
  return it != hc.end() && it->is_number() ? it->get<int64_t>() : 0;
}
bool hc_bool(const Json& hc, const char* k) {
  auto it = hc.find(k);
  return it != hc.end() && it->is_boolean() && it->get<bool>();
}

Json device(const char* path, int major, int minor) {
  return Json{{"path", path}, {"type", "c"},  {"major", major}, {"minor", minor},
              {"fileMode", 0666}, {"uid", 0}, {"gid", 0}};
}
Json dev_rule(bool allow, const char* type, int major, int minor, const char* access) {
  Json r{{"allow", allow}, {"access", access}};
  if (type) r["type"] = type;
  if (major >= 0) r["major"] = major;
  if (minor >= 0) r["minor"] = minor;
  return r;
}

}  // namespace

std::string container_hostname(const std::string& id, const Json& config) {
  auto it = config.find("Hostname");
  if (it != config.end() && it->is_string() && !it->get<std::string>().empty())
    return it->get<std::string>();
  return id.substr(0, 12);
}

std::vector<std::string> process_env(const SpecInput& in) {
  std::vector<std::string> base = {kDefaultPathEnv,
                                   "HOSTNAME=" + container_hostname(in.id, in.config)};
  if (in.config.value("Tty", false)) base.push_back("TERM=xterm");
  // dockerd: the links' variables join the defaults; Config.Env overrides.
  base.insert(base.end(), in.link_env.begin(), in.link_env.end());
  std::vector<std::string> user_env;
  if (auto it = in.config.find("Env"); it != in.config.end() && it->is_array())
    for (const auto& e : *it) user_env.push_back(e.get<std::string>());
  auto env = replace_or_append_env(std::move(base), user_env);
  bool has_home = false;
  for (const auto& e : env)
    if (str::starts_with(e, "HOME=")) has_home = true;
  if (!has_home) env.push_back("HOME=" + in.user.home);
  return env;
}

Result<Json> build_spec(const SpecInput& in) {
  const Json& hc = in.host_config;
  const Json& cfg = in.config;
  const std::string net = hc_str(hc, "NetworkMode");
  const bool host_net = net == "host";
  const bool host_uts = hc_str(hc, "UTSMode") == "host";
  const bool host_ipc = hc_str(hc, "IpcMode") == "host";
  const bool host_pid = hc_str(hc, "PidMode") == "host";
  const bool readonly = hc_bool(hc, "ReadonlyRootfs");
  const bool privileged = hc_bool(hc, "Privileged");
  const std::string ipc_mode = hc_str(hc, "IpcMode");
  const std::string pid_mode = hc_str(hc, "PidMode");
  const bool use_init = hc_bool(hc, "Init") && !in.init_binary.empty();
  SecurityOpts sec = BERTH_TRY(parse_security_opts(hc.value("SecurityOpt", Json())));

  Json process;
  process["terminal"] = cfg.value("Tty", false);
  Json user{{"uid", in.user.uid}, {"gid", in.user.gid}};
  if (!in.user.additional_gids.empty()) user["additionalGids"] = in.user.additional_gids;
  process["user"] = user;
  std::vector<std::string> argv;
  if (use_init) argv = {"/sbin/docker-init", "--"};
  argv.push_back(in.path);
  argv.insert(argv.end(), in.args.begin(), in.args.end());
  process["args"] = argv;
  process["env"] = process_env(in);
  std::string cwd = cfg.value("WorkingDir", std::string());
  process["cwd"] = cwd.empty() ? "/" : cwd;
  std::vector<std::string> caps;
  if (privileged) {
    caps = in.host_caps;
  } else {
    caps = BERTH_TRY(effective_capabilities(hc.value("CapAdd", Json()), hc.value("CapDrop", Json())));
    if (!in.host_caps.empty()) {
      // A capability the host's bounding set lacks cannot be granted: one
      // named in --cap-add is an error (never silently dropped); defaults
      // and ALL shrink to what the host has, as --privileged does.
      std::vector<std::string> named;
      if (auto add = hc.find("CapAdd"); add != hc.end() && add->is_array())
        for (const auto& a : *add) {
          if (!a.is_string()) continue;
          std::string n = a.get<std::string>();
          std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return std::toupper(ch); });
          if (n == "ALL") continue;
          if (!str::starts_with(n, "CAP_")) n = "CAP_" + n;
          named.push_back(n);
        }
      std::vector<std::string> kept;
      for (const auto& c : caps) {
        if (std::find(in.host_caps.begin(), in.host_caps.end(), c) != in.host_caps.end()) {
          kept.push_back(c);
        } else if (std::find(named.begin(), named.end(), c) != named.end()) {
          return make_error(Errc::invalid, "cannot add capability " + c +
                                               ": it is not in the host's bounding set (berthd runs without it)");
        }
      }
      caps = std::move(kept);
    }
  }
  process["capabilities"] = Json{{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  if (sec.no_new_privileges) process["noNewPrivileges"] = true;
  process["oomScoreAdj"] = hc_int(hc, "OomScoreAdj");
  if (auto it = hc.find("Ulimits"); it != hc.end() && it->is_array() && !it->empty()) {
    Json rl = Json::array();
    for (const auto& u : *it) {
      std::string name = u.value("Name", std::string());
      std::string up;
      for (char c : name) up += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
      rl.push_back(Json{{"type", "RLIMIT_" + up},
                        {"hard", u.value("Hard", int64_t{0})},
                        {"soft", u.value("Soft", int64_t{0})}});
    }
    process["rlimits"] = rl;
  }

  Json spec;
  spec["ociVersion"] = "1.0.2-dev";
  spec["process"] = process;
  spec["root"] = Json{{"path", in.rootfs}, {"readonly", readonly}};
  if (!host_uts) {
    spec["hostname"] = container_hostname(in.id, cfg);
    std::string dn = cfg.value("Domainname", std::string());
    if (!dn.empty()) spec["domainname"] = dn;
  }

  Json mounts = Json::array();
  mounts.push_back(mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  mounts.push_back(mount("/dev/pts", "devpts", "devpts",
                         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  const char* sys_mode = privileged ? "rw" : "ro";
  mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", sys_mode}));
  mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup", {sys_mode, "nosuid", "noexec", "nodev"}));
  mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  if (host_ipc) {
    mounts.push_back(mount("/dev/shm", "bind", "/dev/shm", {"rbind", "rprivate"}));
  } else if (!in.ipc_shm_source.empty()) {
    mounts.push_back(mount("/dev/shm", "bind", in.ipc_shm_source.c_str(), {"rbind", "rprivate"}));
  } else if (ipc_mode == "none") {
    // no /dev/shm at all
  } else {
    int64_t shm = hc_int(hc, "ShmSize");
    if (shm <= 0) shm = 64 * 1024 * 1024;
    mounts.push_back(mount("/dev/shm", "tmpfs", "shm",
                           {"nosuid", "noexec", "nodev", "mode=1777", "size=" + std::to_string(shm)}));
  }
  const char* rw = readonly ? "ro" : "rw";
  mounts.push_back(mount("/etc/resolv.conf", "bind", in.resolv_conf_path.c_str(), {"rbind", "rprivate", rw}));
  mounts.push_back(mount("/etc/hostname", "bind", in.hostname_path.c_str(), {"rbind", "rprivate", rw}));
  mounts.push_back(mount("/etc/hosts", "bind", in.hosts_path.c_str(), {"rbind", "rprivate", rw}));
  if (in.extra_mounts.is_array()) {
    for (const auto& m : in.extra_mounts) mounts.push_back(m);
  } else if (auto it = hc.find("Binds"); it != hc.end() && it->is_array()) {
    for (const auto& b : *it) {
      auto parts = str::split(b.get<std::string>(), ':');
      std::vector<std::string> opts = {"rbind"};
      std::string prop = "rprivate";
      bool ro = false;
      if (parts.size() == 3)
        for (const auto& o : str::split(parts[2], ',')) {
          if (o == "ro") ro = true;
          if (o == "private" || o == "rprivate" || o == "slave" || o == "rslave" ||
              o == "shared" || o == "rshared")
            prop = o;
        }
      opts.push_back(ro ? "ro" : "rw");
      opts.push_back(prop);
      mounts.push_back(mount(parts[1].c_str(), "bind", parts[0].c_str(), opts));
    }
  }
  if (auto it = hc.find("Tmpfs"); it != hc.end() && it->is_object()) {
    for (const auto& [dest, o] : it->items()) {
      std::vector<std::string> opts = {"noexec", "nosuid", "nodev"};
      for (const auto& x : str::split(o.get<std::string>(), ','))
        if (!x.empty()) opts.push_back(x);
      mounts.push_back(mount(dest.c_str(), "tmpfs", "tmpfs", opts));
    }
  }
  if (use_init)
    mounts.push_back(mount("/sbin/docker-init", "bind", in.init_binary.c_str(), {"rbind", "rprivate", "ro"}));
  spec["mounts"] = mounts;

  Json lnx;
  Json resources;
  Json devrules = Json::array();
  devrules.push_back(dev_rule(false, nullptr, -1, -1, "rwm"));
  devrules.push_back(dev_rule(true, "c", -1, -1, "m"));
  devrules.push_back(dev_rule(true, "b", -1, -1, "m"));
  devrules.push_back(dev_rule(true, "c", 1, 3, "rwm"));    // null
  devrules.push_back(dev_rule(true, "c", 1, 8, "rwm"));    // random
  devrules.push_back(dev_rule(true, "c", 1, 7, "rwm"));    // full
  devrules.push_back(dev_rule(true, "c", 5, 0, "rwm"));    // tty
  devrules.push_back(dev_rule(true, "c", 1, 5, "rwm"));    // zero
  devrules.push_back(dev_rule(true, "c", 1, 9, "rwm"));    // urandom
  devrules.push_back(dev_rule(true, "c", 136, -1, "rwm"));  // pts
  devrules.push_back(dev_rule(true, "c", 5, 1, "rwm"));    // console
  devrules.push_back(dev_rule(true, "c", 5, 2, "rwm"));    // ptmx
  devrules.push_back(dev_rule(true, "c", 10, 200, "rwm"));  // tun
  for (const auto& d : in.devices) {
    if (privileged) break;
    Json r{{"allow", true}, {"type", d.value("type", std::string("c"))}, {"major", d.value("major", 0)},
           {"minor", d.value("minor", 0)}, {"access", d.value("access", std::string("rwm"))}};
    devrules.push_back(r);
  }
  if (privileged) devrules = Json::array({dev_rule(true, "a", -1, -1, "rwm")});
  resources["devices"] = devrules;
  if (int64_t m = hc_int(hc, "Memory"); m > 0) {
    Json mem{{"limit", m}};
    if (int64_t s = hc_int(hc, "MemorySwap"); s != 0) mem["swap"] = s;
    if (int64_t r = hc_int(hc, "MemoryReservation"); r > 0) mem["reservation"] = r;
    resources["memory"] = mem;
  } else if (int64_t r = hc_int(hc, "MemoryReservation"); r > 0) {
    resources["memory"] = Json{{"reservation", r}};
  }
  if (hc_bool(hc, "OomKillDisable")) {
    if (!resources.contains("memory")) resources["memory"] = Json::object();
    resources["memory"]["disableOOMKiller"] = true;
  }
  if (auto it = hc.find("MemorySwappiness"); it != hc.end() && it->is_number() && it->get<int64_t>() >= 0) {
    if (!resources.contains("memory")) resources["memory"] = Json::object();
    resources["memory"]["swappiness"] = it->get<int64_t>();
  }
  Json cpu = Json::object();
  if (int64_t v = hc_int(hc, "CpuShares"); v > 0) cpu["shares"] = v;
  if (int64_t v = hc_int(hc, "NanoCpus"); v > 0) {
    cpu["period"] = 100000;
    cpu["quota"] = v * 100000 / 1000000000;
  }
  if (int64_t v = hc_int(hc, "CpuQuota"); v != 0) cpu["quota"] = v;
  if (int64_t v = hc_int(hc, "CpuPeriod"); v != 0) cpu["period"] = v;
  if (auto v = hc_str(hc, "CpusetCpus"); !v.empty()) cpu["cpus"] = v;
  if (auto v = hc_str(hc, "CpusetMems"); !v.empty()) cpu["mems"] = v;
  if (!cpu.empty()) resources["cpu"] = cpu;
  if (int64_t v = hc_int(hc, "PidsLimit"); v != 0) resources["pids"] = Json{{"limit", v}};
  Json blkio = Json::object();
  if (int64_t v = hc_int(hc, "BlkioWeight"); v > 0 && in.blkio_weight_supported) blkio["weight"] = v;
  const std::pair<const char*, const char*> throttles[] = {
      {"BlkioDeviceReadBps", "throttleReadBpsDevice"},
      {"BlkioDeviceWriteBps", "throttleWriteBpsDevice"},
      {"BlkioDeviceReadIOps", "throttleReadIOPSDevice"},
      {"BlkioDeviceWriteIOps", "throttleWriteIOPSDevice"}};
  for (const auto& [field, key] : throttles) {
    auto it = hc.find(field);
    if (it == hc.end() || !it->is_array() || it->empty()) continue;
    Json list = Json::array();
    for (const auto& d : *it) {
      auto n = in.device_numbers.find(d.value("Path", std::string()));
      if (n == in.device_numbers.end())
        return make_error(Errc::invalid, "no such device: " + d.value("Path", std::string()));
      list.push_back(Json{{"major", n->second.first}, {"minor", n->second.second}, {"rate", d.value("Rate", uint64_t{0})}});
    }
    blkio[key] = list;
  }
  if (!blkio.empty()) resources["blockIO"] = blkio;
  lnx["resources"] = resources;
  lnx["cgroupsPath"] = "/berth/" + in.id;

  Json ns = Json::array();
  auto ns_entry = [&](const char* type) {
    Json n{{"type", type}};
    if (auto it = in.join_ns.find(type); it != in.join_ns.end()) n["path"] = it->second;
    return n;
  };
  if (!host_pid) ns.push_back(ns_entry("pid"));
  if (!host_net) {
    Json n{{"type", "network"}};
    if (!in.netns_path.empty()) n["path"] = in.netns_path;
    ns.push_back(n);
  }
  if (!host_ipc) ns.push_back(ns_entry("ipc"));
  if (!host_uts) ns.push_back(Json{{"type", "uts"}});
  ns.push_back(Json{{"type", "mount"}});
  if (hc_str(hc, "CgroupnsMode") == "private") ns.push_back(Json{{"type", "cgroup"}});
  lnx["namespaces"] = ns;

  Json devices = Json::array();
  devices.push_back(device("/dev/null", 1, 3));
  devices.push_back(device("/dev/zero", 1, 5));
  devices.push_back(device("/dev/full", 1, 7));
  devices.push_back(device("/dev/random", 1, 8));
  devices.push_back(device("/dev/urandom", 1, 9));
  devices.push_back(device("/dev/tty", 5, 0));
  for (const auto& d : in.devices) {
    Json x = d;
    x.erase("access");
    bool dup = false;
    for (auto& e : devices)
      if (e["path"] == x["path"]) {
        e = x;
        dup = true;
      }
    if (!dup) devices.push_back(x);
  }
  lnx["devices"] = devices;

  Json sysctl = Json::object();
  if (!host_net) {
    // Docker ≥ 20.10 lets unprivileged processes bind low ports and ping.
    sysctl["net.ipv4.ip_unprivileged_port_start"] = "0";
    sysctl["net.ipv4.ping_group_range"] = "0 2147483647";
  }
  if (auto it = hc.find("Sysctls"); it != hc.end() && it->is_object())
    for (const auto& [k, v] : it->items()) sysctl[k] = v;
  if (!sysctl.empty()) lnx["sysctl"] = sysctl;

  if (!privileged && sec.seccomp != "unconfined") {
    SeccompTarget t;
    t.capabilities = caps;
    t.kernel_major = in.kernel_major;
    t.kernel_minor = in.kernel_minor;
    Json profile = default_seccomp_profile();
    if (!sec.seccomp.empty() && sec.seccomp != "builtin")
      profile = BERTH_TRY(parse_json(sec.seccomp));
    lnx["seccomp"] = BERTH_TRY(seccomp_to_oci(profile, t));
  }
  if (privileged || sec.unmask_paths) {
    spec["linux"] = lnx;
    return spec;
  }
  lnx["maskedPaths"] = {"/proc/asound",        "/proc/acpi",        "/proc/kcore",
                          "/proc/keys",          "/proc/latency_stats", "/proc/timer_list",
                          "/proc/timer_stats",   "/proc/sched_debug", "/proc/scsi",
                          "/sys/firmware",       "/sys/devices/virtual/powercap"};
  lnx["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  spec["linux"] = lnx;
  return spec;
}

}  // namespace berth::container
