#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strings.h"
#include "common/time.h"
#include "daemon/routes.h"

namespace berth::daemon {

namespace {

std::string go_arch(const std::string& m) {
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m == "i686" || m == "i386") return "386";
  if (m.rfind("arm", 0) == 0) return "arm";
  return m;
}

std::string os_pretty_name() {
  auto t = fs::read_file("/etc/os-release");
  if (!t) return "Linux";
  for (const auto& line : str::split(*t, '\n')) {
    if (str::starts_with(line, "PRETTY_NAME=")) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return "Linux";
}

std::string os_version() {
  auto t = fs::read_file("/etc/os-release");
  if (!t) return "";
  for (const auto& line : str::split(*t, '\n')) {
    if (str::starts_with(line, "VERSION_ID=")) {
      std::string v = line.substr(11);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return "";
}

std::string cgroup_version() {
  // Pure v2 has cgroup.controllers at the root; hybrid/v1 report "1".
  return fs::exists("/sys/fs/cgroup/cgroup.controllers") ? "2" : "1";
}

std::string backing_fs(const std::string& path) {
  struct statfs sf {};
  if (::statfs(path.c_str(), &sf) != 0) return "unknown";
  switch (static_cast<unsigned long>(sf.f_type)) {
    case 0xEF53: return "extfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x794C7630: return "overlayfs";
    case 0x2FC12FC1: return "zfs";
    default: return "unknown";
  }
}

int count_fds() { return static_cast<int>(fs::list_dir("/proc/self/fd").size()); }

}  // namespace

void add_system_routes(Router& r, Backends& b) {
  auto ping = [](Request& req, Response& res) -> Status {
    std::vector<api::Header> h = {{"Cache-Control", "no-cache, no-store, must-revalidate"},
                                  {"Pragma", "no-cache"}};
    if (req.method == "HEAD") {
      res.set_head_only(true);
      return res.send(200, "", "text/plain; charset=utf-8", h);
    }
    return res.send(200, "OK", "text/plain; charset=utf-8", h);
  };
  r.add("GET", "/_ping", ping);
  r.add("HEAD", "/_ping", ping);

  r.add("GET", "/version", [&b](Request&, Response& res) -> Status {
    struct utsname u {};
    ::uname(&u);
    std::string arch = go_arch(u.machine);
    Json details{{"ApiVersion", "1.41"}, {"Arch", arch},          {"BuildTime", ""},
                 {"Experimental", "false"}, {"GitCommit", ""},    {"GoVersion", ""},
                 {"KernelVersion", u.release}, {"MinAPIVersion", "1.12"}, {"Os", "linux"}};
    Json v{{"Platform", {{"Name", "berth"}}},
           {"Components", {{{"Name", "Engine"}, {"Version", b.sys.server_version}, {"Details", details}}}},
           {"Version", b.sys.server_version},
           {"ApiVersion", "1.41"},
           {"MinAPIVersion", "1.12"},
           {"GitCommit", ""},
           {"GoVersion", ""},
           {"Os", "linux"},
           {"Arch", arch},
           {"KernelVersion", u.release},
           {"BuildTime", ""}};
    return res.json(200, v);
  });

  r.add("GET", "/info", [&b](Request&, Response& res) -> Status {
    std::lock_guard sys_lock(b.sys.mu);  // a SIGHUP reload may change runtimes, debug, live-restore
    struct utsname u {};
    ::uname(&u);
    struct sysinfo si {};
    ::sysinfo(&si);
    auto counts = b.containers.counts();
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    Json runtimes = Json::object();
    for (const auto& [name, path] : b.sys.runtimes) runtimes[name] = Json{{"path", path}};
    bool v2 = cgroup_version() == "2";
    Json info{
        {"ID", b.sys.id},
        {"Containers", counts.total},
        {"ContainersRunning", counts.running},
        {"ContainersPaused", counts.paused},
        {"ContainersStopped", counts.stopped},
        {"Images", static_cast<int64_t>(b.images.list().size())},
        {"Driver", "overlay2"},
        {"DriverStatus", Json::array({Json::array({"Backing Filesystem", backing_fs(b.sys.data_root)}),
                                      Json::array({"Supports d_type", "true"}),
                                      Json::array({"Native Overlay Diff", "true"}),
                                      Json::array({"userxattr", "false"})})},
        {"Plugins",
         {{"Volume", Json::array()},
          {"Network", Json::array({"host", "none"})},
          {"Authorization", nullptr},
          {"Log", Json::array({"json-file", "none"})}}},
        {"MemoryLimit", true},
        {"SwapLimit", fs::exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") || v2},
        {"KernelMemory", false},
        {"KernelMemoryTCP", false},
        {"CpuCfsPeriod", true},
        {"CpuCfsQuota", true},
        {"CPUShares", true},
        {"CPUSet", true},
        {"PidsLimit", true},
        {"IPv4Forwarding", false},
        {"BridgeNfIptables", false},
        {"BridgeNfIp6tables", false},
        {"Debug", b.sys.debug},
        {"NFd", count_fds()},
        {"OomKillDisable", false},
        {"NGoroutines", 0},
        {"SystemTime", timeutil::rfc3339_nano(timeutil::now_unix_nano())},
        {"LoggingDriver", "json-file"},
        {"CgroupDriver", "cgroupfs"},
        {"CgroupVersion", cgroup_version()},
        {"NEventsListener", 0},
        {"KernelVersion", u.release},
        {"OperatingSystem", os_pretty_name()},
        {"OSVersion", os_version()},
        {"OSType", "linux"},
        {"Architecture", u.machine},
        {"IndexServerAddress", "https://index.docker.io/v1/"},
        {"RegistryConfig",
         {{"AllowNondistributableArtifactsCIDRs", Json::array()},
          {"AllowNondistributableArtifactsHostnames", Json::array()},
          {"InsecureRegistryCIDRs", {"127.0.0.0/8"}},
          {"IndexConfigs",
           {{"docker.io",
             {{"Name", "docker.io"}, {"Mirrors", Json::array()}, {"Secure", true}, {"Official", true}}}}},
          {"Mirrors", Json::array()}}},
        {"NCPU", static_cast<int64_t>(::sysconf(_SC_NPROCESSORS_ONLN))},
        {"MemTotal", static_cast<int64_t>(si.totalram) * static_cast<int64_t>(si.mem_unit)},
        {"GenericResources", nullptr},
        {"DockerRootDir", b.sys.data_root},
        {"HttpProxy", ""},
        {"HttpsProxy", ""},
        {"NoProxy", ""},
        {"Name", host},
        {"Labels", Json::array()},
        {"ExperimentalBuild", false},
        {"ServerVersion", b.sys.server_version},
        {"Runtimes", runtimes},
        {"DefaultRuntime", b.sys.default_runtime},
        {"Swarm",
         {{"NodeID", ""},
          {"NodeAddr", ""},
          {"LocalNodeState", "inactive"},
          {"ControlAvailable", false},
          {"Error", ""},
          {"RemoteManagers", nullptr}}},
        {"LiveRestoreEnabled", b.sys.live_restore},
        {"Isolation", ""},
        {"InitBinary", ""},
        {"ContainerdCommit", {{"ID", ""}, {"Expected", ""}}},
        {"RuncCommit", {{"ID", ""}, {"Expected", ""}}},
        {"InitCommit", {{"ID", ""}, {"Expected", ""}}},
        {"SecurityOptions", Json::array()},
        {"Warnings", Json::array({"WARNING: berth does not apply seccomp or AppArmor profiles yet",
                      "WARNING: bridge networking is not available yet; containers get loopback only"})}};
    if (v2) info["SecurityOptions"].push_back("name=cgroupns");
    return res.json(200, info);
  });
}

Result<int64_t> parse_timestamp(std::string_view s) {
  s = str::trim(s);
  if (s.empty()) return int64_t{0};
  bool numeric = true;
  for (char c : s) numeric &= (c >= '0' && c <= '9') || c == '.' || c == '-';
  if (numeric) {
    auto dot = s.find('.');
    auto secs = str::parse_int(s.substr(0, dot));
    if (!secs) return make_error(Errc::invalid, "invalid timestamp: " + std::string(s));
    int64_t ns = 0;
    if (dot != std::string_view::npos) {
      std::string frac(s.substr(dot + 1));
      if (frac.empty() || frac.size() > 9 || frac.find_first_not_of("0123456789") != std::string::npos)
        return make_error(Errc::invalid, "invalid timestamp: " + std::string(s));
      frac.append(9 - frac.size(), '0');
      ns = *str::parse_int(frac);
    }
    return *secs * 1000000000 + ns;
  }
  auto t = timeutil::parse_rfc3339(s);
  if (!t) return make_error(Errc::invalid, "invalid timestamp: " + std::string(s));
  return *t;
}

}  // namespace berth::daemon
