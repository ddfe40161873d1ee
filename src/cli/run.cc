// `berth run`: the docker CLI's call sequence (create → attach → wait →
// start), pull on a missing image, stdio over the hijacked connection,
// signal proxying and the exit code mapping.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <tuple>
#include <cstring>
#include <fstream>

#include "cli/attach.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "cli/reference.h"
#include "cli/terminal.h"
#include "cli/timestamp.h"
#include "common/fs.h"
#include "common/strings.h"
#include "common/unique_fd.h"

namespace berth::cli {

namespace {

constexpr CommandSpec kRun{"run", "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
                           "Create and run a new container from an image"};
constexpr CommandSpec kCreate{"create", "create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container"};

}  // namespace

int start_error_code(std::string_view msg) {
  if (msg.find("executable file not found") != std::string_view::npos ||
      msg.find("no such file or directory") != std::string_view::npos)
    return 127;
  if (msg.find("permission denied") != std::string_view::npos) return 126;
  return 125;
}

namespace {

struct RunOptions {
  bool detach = false, rm = false, interactive = false, tty = false, sig_proxy = true;
  std::string name;
  std::string cidfile;
  Json config;
};

Error flag_value_error(const std::string& v, const std::string& flag, const std::string& why) {
  return make_error(Errc::invalid, "invalid argument \"" + v + "\" for \"" + flag + "\" flag: " + why);
}

// The security and resource flags, as the docker CLI turns them into
// HostConfig (and Config.Healthcheck / StopTimeout) fields.
Status add_resource_flags(const FlagSet& f, Json& hc, Json& cfg) {
  auto bytes = [&](const char* name, const char* flag, const char* field, bool allow_neg) -> Status {
    if (!f.changed(name)) return ok();
    std::string v = f.get_string(name);
    if (allow_neg && v == "-1") {
      hc[field] = -1;
      return ok();
    }
    auto n = parse_ram_in_bytes(v);
    if (!n) return flag_value_error(v, flag, n.error().msg);
    hc[field] = *n;
    return ok();
  };
  BERTH_TRY_VOID(bytes("memory", "-m, --memory", "Memory", false));
  BERTH_TRY_VOID(bytes("memory-swap", "--memory-swap", "MemorySwap", true));
  BERTH_TRY_VOID(bytes("memory-reservation", "--memory-reservation", "MemoryReservation", false));
  BERTH_TRY_VOID(bytes("shm-size", "--shm-size", "ShmSize", false));
  if (f.changed("cpus")) {
    std::string v = f.get_string("cpus");
    char* end = nullptr;
    double c = std::strtod(v.c_str(), &end);
    if (v.empty() || !end || *end) return flag_value_error(v, "--cpus", "failed to parse " + v + " as a rational number");
    hc["NanoCpus"] = static_cast<int64_t>(std::llround(c * 1e9));
  }
  const std::pair<const char*, const char*> ints[] = {
      {"cpu-shares", "CpuShares"}, {"cpu-period", "CpuPeriod"},   {"cpu-quota", "CpuQuota"},
      {"pids-limit", "PidsLimit"}, {"blkio-weight", "BlkioWeight"}, {"oom-score-adj", "OomScoreAdj"}};
  for (const auto& [flag, field] : ints)
    if (f.changed(flag)) hc[field] = f.get_int(flag);
  if (f.changed("cpuset-cpus")) hc["CpusetCpus"] = f.get_string("cpuset-cpus");
  if (f.changed("cpuset-mems")) hc["CpusetMems"] = f.get_string("cpuset-mems");
  if (f.get_bool("oom-kill-disable")) hc["OomKillDisable"] = true;
  for (const char* k : {"pid", "ipc", "uts"}) {
    if (!f.changed(k)) continue;
    std::string field = std::string(k) == "pid" ? "PidMode" : std::string(k) == "ipc" ? "IpcMode" : "UTSMode";
    hc[field] = f.get_string(k);
  }
  auto list = [&](const char* name) {
    Json a = Json::array();
    for (const auto& v : f.get_list(name)) a.push_back(v);
    return a;
  };
  if (!f.get_list("cap-add").empty()) hc["CapAdd"] = list("cap-add");
  if (!f.get_list("cap-drop").empty()) hc["CapDrop"] = list("cap-drop");
  if (!f.get_list("security-opt").empty()) hc["SecurityOpt"] = list("security-opt");
  if (!f.get_list("group-add").empty()) hc["GroupAdd"] = list("group-add");
  if (!f.get_list("device").empty()) {
    Json devs = Json::array();
    for (const auto& d : f.get_list("device")) {
      auto parts = str::split(d, ':');
      std::string host = parts[0], ctr = parts.size() > 1 ? parts[1] : parts[0], perms = "rwm";
      if (parts.size() == 2 && !parts[1].empty() && parts[1][0] != '/') {
        ctr = host;
        perms = parts[1];
      }
      if (parts.size() >= 3) perms = parts[2];
      if (parts.size() > 3 || host.empty()) return make_error(Errc::invalid, "invalid device specification: " + d);
      devs.push_back({{"PathOnHost", host}, {"PathInContainer", ctr}, {"CgroupPermissions", perms}});
    }
    hc["Devices"] = devs;
  }
  if (!f.get_list("ulimit").empty()) {
    Json ul = Json::array();
    for (const auto& u : f.get_list("ulimit")) {
      auto eq = u.find('=');
      if (eq == std::string::npos) return flag_value_error(u, "--ulimit", "invalid ulimit argument: " + u);
      std::string name = u.substr(0, eq), vals = u.substr(eq + 1);
      auto colon = vals.find(':');
      auto soft = str::parse_int(vals.substr(0, colon));
      auto hard = colon == std::string::npos ? soft : str::parse_int(vals.substr(colon + 1));
      if (!soft || !hard) return flag_value_error(u, "--ulimit", "invalid ulimit argument: " + u);
      ul.push_back({{"Name", name}, {"Soft", *soft}, {"Hard", *hard}});
    }
    hc["Ulimits"] = ul;
  }
  if (!f.get_list("sysctl").empty()) {
    Json sc = Json::object();
    for (const auto& kv : f.get_list("sysctl")) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) return flag_value_error(kv, "--sysctl", kv + " is not a valid sysctl value");
      sc[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    hc["Sysctls"] = sc;
  }
  const std::tuple<const char*, const char*, bool> throttles[] = {
      {"device-read-bps", "BlkioDeviceReadBps", true},
      {"device-write-bps", "BlkioDeviceWriteBps", true},
      {"device-read-iops", "BlkioDeviceReadIOps", false},
      {"device-write-iops", "BlkioDeviceWriteIOps", false}};
  for (const auto& [flag, field, is_bytes] : throttles) {
    if (f.get_list(flag).empty()) continue;
    Json a = Json::array();
    for (const auto& v : f.get_list(flag)) {
      auto colon = v.rfind(':');
      if (colon == std::string::npos || colon == 0)
        return flag_value_error(v, std::string("--") + flag, "bad format: " + v);
      std::string rate_s = v.substr(colon + 1);
      int64_t rate = 0;
      if (is_bytes) {
        auto n = parse_ram_in_bytes(rate_s);
        if (!n) return flag_value_error(v, std::string("--") + flag, "invalid rate for device: " + v + ". The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb");
        rate = *n;
      } else {
        auto n = str::parse_int(rate_s);
        if (!n || *n < 0) return flag_value_error(v, std::string("--") + flag, "invalid rate for device: " + v + ". The correct format is <device-path>:<number>. Number must be a positive integer");
        rate = *n;
      }
      a.push_back({{"Path", v.substr(0, colon)}, {"Rate", rate}});
    }
    hc[field] = a;
  }
  if (f.changed("log-driver")) hc["LogConfig"]["Type"] = f.get_string("log-driver");
  if (!f.get_list("log-opt").empty()) {
    Json c = Json::object();
    for (const auto& kv : f.get_list("log-opt")) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) return make_error(Errc::invalid, "invalid key value pair format in log-opt: " + kv);
      c[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    hc["LogConfig"]["Config"] = c;
    if (!hc["LogConfig"].contains("Type")) hc["LogConfig"]["Type"] = "";
  }
  // Health check: --health-* override the image's, --no-healthcheck disables it.
  bool any_health = false;
  for (const char* k : {"health-cmd", "health-interval", "health-timeout", "health-retries", "health-start-period"})
    any_health |= f.changed(k);
  if (f.get_bool("no-healthcheck")) {
    if (any_health) return make_error(Errc::invalid, "--no-healthcheck conflicts with --health-* options");
    cfg["Healthcheck"] = Json{{"Test", Json::array({"NONE"})}};
  } else if (any_health) {
    Json h = Json::object();
    if (f.changed("health-cmd")) h["Test"] = Json::array({"CMD-SHELL", f.get_string("health-cmd")});
    for (const auto& [flag, field] : std::initializer_list<std::pair<const char*, const char*>>{
             {"health-interval", "Interval"}, {"health-timeout", "Timeout"}, {"health-start-period", "StartPeriod"}}) {
      if (!f.changed(flag)) continue;
      auto d = parse_go_duration(f.get_string(flag));
      if (!d) return flag_value_error(f.get_string(flag), std::string("--") + flag, d.error().msg);
      if (*d < 0) return make_error(Errc::invalid, std::string("--") + flag + " cannot be negative");
      h[field] = *d;
    }
    if (f.changed("health-retries")) {
      if (f.get_int("health-retries") < 0) return make_error(Errc::invalid, "--health-retries cannot be negative");
      h["Retries"] = f.get_int("health-retries");
    }
    cfg["Healthcheck"] = h;
  }
  if (f.changed("stop-timeout")) cfg["StopTimeout"] = f.get_int("stop-timeout");
  return ok();
}

// docker's --cidfile: refused when the file exists; created empty before
// the create, filled with the ID after it, removed if no ID was written.
class CidFile {
 public:
  static Result<CidFile> open(const std::string& path) {
    CidFile c;
    if (path.empty()) return c;
    c.path_ = path;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0)
      return make_error(Errc::conflict, "container ID file found, make sure the other container isn't running or delete " + path);
    c.fd_.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!c.fd_) return make_error(Errc::invalid, "failed to create the container ID file: open " + path + ": " + go_strerror(errno));
    return c;
  }
  CidFile() = default;
  CidFile(CidFile&&) = default;
  CidFile& operator=(CidFile&&) = default;
  ~CidFile() {
    if (!path_.empty() && fd_ && !written_) ::unlink(path_.c_str());
  }
  Status write(const std::string& id) {
    if (path_.empty()) return ok();
    BERTH_TRY_VOID(fs::write_all(fd_.get(), id));
    written_ = true;
    fd_.reset();
    return ok();
  }

 private:
  std::string path_;
  UniqueFd fd_;
  bool written_ = false;
};

Result<std::vector<std::string>> read_env_file(const Context& ctx, const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Errc::not_found, "open " + path + ": " + go_strerror(errno));
  std::vector<std::string> out;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string_view l = line;
    while (!l.empty() && (l.front() == ' ' || l.front() == '\t')) l.remove_prefix(1);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty() || l.front() == '#') continue;
    size_t eq = l.find('=');
    std::string_view key = l.substr(0, eq);
    if (key.find_first_of(" \t") != std::string_view::npos)
      return make_error(Errc::invalid, "invalid env file (" + path + "): variable '" + std::string(key) +
                                           "' contains whitespaces");
    if (key.empty()) return make_error(Errc::invalid, path + ": no variable name on line '" + std::string(l) + "'");
    if (eq != std::string_view::npos) {
      out.emplace_back(l);
    } else if (auto v = ctx.env(std::string(key))) {
      out.push_back(std::string(key) + "=" + *v);
    }
  }
  (void)lineno;
  return out;
}

// "8080:80", "127.0.0.1:8080:80/udp", "80", "9000-9001:9000-9001",
// "8000-8010:80" → one binding per container port, as nat.ParsePortSpec.
struct PortSpec {
  std::string port;  // "80/tcp"
  std::string host_ip, host_port;
};
Result<std::vector<PortSpec>> parse_publish(const std::string& s) {
  std::string spec = s, proto = "tcp";
  if (size_t slash = spec.rfind('/'); slash != std::string::npos) {
    proto = spec.substr(slash + 1);
    spec = spec.substr(0, slash);
  }
  if (proto != "tcp" && proto != "udp" && proto != "sctp")
    return make_error(Errc::invalid, "invalid proto: " + proto);
  std::vector<std::string> parts;
  if (!spec.empty() && spec.front() == '[') {  // [::1]:8080:80
    size_t close = spec.find(']');
    if (close == std::string::npos || close + 1 >= spec.size() || spec[close + 1] != ':')
      return make_error(Errc::invalid, "invalid IP address: " + spec);
    parts.push_back(spec.substr(1, close - 1));
    for (auto& x : str::split(spec.substr(close + 2), ':')) parts.push_back(x);
    if (parts.size() == 2) parts.insert(parts.begin() + 1, "");
  } else {
    parts = str::split(spec, ':');
  }
  std::string ip, hport, cport;
  if (parts.size() == 1) {
    cport = parts[0];
  } else if (parts.size() == 2) {
    hport = parts[0];
    cport = parts[1];
  } else if (parts.size() == 3) {
    ip = parts[0];
    hport = parts[1];
    cport = parts[2];
  } else {
    return make_error(Errc::invalid, "invalid port format for --publish: " + s);
  }
  // "a" or "a-b" → [a, b]
  auto range = [](const std::string& x, int64_t* lo, int64_t* hi) {
    size_t dash = x.find('-');
    auto a = str::parse_int(x.substr(0, dash));
    auto b = dash == std::string::npos ? a : str::parse_int(x.substr(dash + 1));
    if (!a || !b || *a <= 0 || *b > 65535 || *a > *b) return false;
    *lo = *a;
    *hi = *b;
    return true;
  };
  int64_t c1, c2, h1 = 0, h2 = 0;
  if (cport.empty() || !range(cport, &c1, &c2)) return make_error(Errc::invalid, "invalid containerPort: " + cport);
  if (!hport.empty() && !range(hport, &h1, &h2)) return make_error(Errc::invalid, "invalid hostPort: " + hport);
  std::vector<PortSpec> out;
  if (!hport.empty() && c2 > c1 && (h2 - h1) != (c2 - c1))
    return make_error(Errc::invalid, "invalid ranges specified for container and host Ports: " + cport + " and " + hport);
  for (int64_t c = c1; c <= c2; ++c) {
    PortSpec p;
    p.port = std::to_string(c) + "/" + proto;
    p.host_ip = ip;
    if (!hport.empty()) {
      if (c2 > c1) p.host_port = std::to_string(h1 + (c - c1));
      else p.host_port = h1 == h2 ? std::to_string(h1) : std::to_string(h1) + "-" + std::to_string(h2);
    }
    out.push_back(std::move(p));
  }
  return out;
}

// Builds the create body from the flags, as the docker CLI fills it.
Result<RunOptions> build_config(Context& ctx, const FlagSet& f) {
  RunOptions o;
  o.detach = f.get_bool("detach");
  o.rm = f.get_bool("rm");
  o.interactive = f.get_bool("interactive");
  o.tty = f.get_bool("tty");
  o.sig_proxy = f.get_bool("sig-proxy") && !o.tty;  // docker disables it with a TTY
  o.name = f.get_string("name");
  o.cidfile = f.get_string("cidfile");
  const auto& pos = f.args();
  std::string image = pos.front();
  BERTH_TRY(parse_image_ref(image));  // docker validates the reference first

  Json env = Json::array();
  for (const auto& file : f.get_list("env-file")) {
    auto lines = BERTH_TRY(read_env_file(ctx, file));
    for (auto& l : lines) env.push_back(l);
  }
  for (const auto& e : f.get_list("env")) {
    if (e.empty() || e.front() == '=') return make_error(Errc::invalid, "invalid environment variable: " + e);
    if (e.find('=') == std::string::npos) {
      if (auto v = ctx.env(e)) {
        env.push_back(e + "=" + *v);
        continue;
      }
    }
    env.push_back(e);
  }
  Json labels = Json::object();
  for (const auto& l : f.get_list("label")) {
    size_t eq = l.find('=');
    if (l.empty() || eq == 0) return make_error(Errc::invalid, "invalid label: " + l);
    labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  Json cmd = Json();
  if (pos.size() > 1) cmd = Json(std::vector<std::string>(pos.begin() + 1, pos.end()));
  Json entrypoint = Json();
  if (f.changed("entrypoint")) entrypoint = Json::array({f.get_string("entrypoint")});

  Json volumes = Json::object();
  Json binds = Json::array();
  for (const auto& v : f.get_list("volume")) {
    if (v.empty()) return make_error(Errc::invalid, "invalid empty volume spec");
    if (v.find(':') == std::string::npos)
      volumes[v] = Json::object();
    else
      binds.push_back(v);
  }
  Json exposed = Json::object();
  Json bindings = Json::object();
  for (const auto& p : f.get_list("publish")) {
    for (const auto& spec : BERTH_TRY(parse_publish(p))) {
      exposed[spec.port] = Json::object();
      bindings[spec.port].push_back({{"HostIp", spec.host_ip}, {"HostPort", spec.host_port}});
    }
  }
  Json restart = {{"Name", "no"}, {"MaximumRetryCount", 0}};
  if (f.changed("restart")) {
    std::string r = f.get_string("restart");
    std::string name = r.substr(0, r.find(':'));
    int64_t max = 0;
    if (r.find(':') != std::string::npos) {
      auto n = str::parse_int(r.substr(r.find(':') + 1));
      if (!n || name != "on-failure") return make_error(Errc::invalid, "invalid restart policy format: " + r);
      max = *n;
    }
    if (name != "no" && name != "always" && name != "unless-stopped" && name != "on-failure")
      return make_error(Errc::invalid, "invalid restart policy format: " + r);
    if (name != "no" && o.rm) return make_error(Errc::invalid, "conflicting options: cannot specify both --restart and --rm");
    restart = {{"Name", name == "no" ? "" : name}, {"MaximumRetryCount", max}};
  }

  bool attach = !o.detach;
  Json host_config = {
      {"Binds", binds.empty() ? Json() : binds},
      {"NetworkMode", f.get_string("network")},
      {"PortBindings", bindings},
      {"RestartPolicy", restart},
      {"AutoRemove", o.rm},
      {"Privileged", f.get_bool("privileged")},
      {"ReadonlyRootfs", f.get_bool("read-only")},
  };
  if (f.changed("init")) host_config["Init"] = f.get_bool("init");
  if (!o.cidfile.empty()) host_config["ContainerIDFile"] = o.cidfile;  // as the docker CLI sends it
  Json extra_cfg = Json::object();
  BERTH_TRY_VOID(add_resource_flags(f, host_config, extra_cfg));
  o.config = {
      {"Hostname", f.get_string("hostname")},
      {"Domainname", ""},
      {"User", f.get_string("user")},
      {"AttachStdin", attach && o.interactive},
      {"AttachStdout", attach},
      {"AttachStderr", attach},
      {"ExposedPorts", exposed},
      {"Tty", o.tty},
      {"OpenStdin", o.interactive},
      {"StdinOnce", attach && o.interactive},
      {"Env", env.empty() ? Json() : env},
      {"Cmd", cmd},
      {"Image", image},
      {"Volumes", volumes},
      {"WorkingDir", f.get_string("workdir")},
      {"Entrypoint", entrypoint},
      {"OnBuild", Json()},
      {"Labels", labels},
      {"HostConfig", host_config},
      {"NetworkingConfig", {{"EndpointsConfig", Json::object()}}},
  };
  if (f.changed("stop-signal")) o.config["StopSignal"] = f.get_string("stop-signal");
  for (auto& [k, v] : extra_cfg.items()) o.config[k] = v;
  return o;
}

// "berth: <msg>\n\nRun 'berth run --help' for more information"
int run_error(Context& ctx, std::string_view msg, int code) {
  return ctx.fail(ctx.prog + ": " + std::string(msg) + "\n\nRun '" + ctx.prog + " run --help' for more information",
                  code);
}

Result<std::string> create_container(Context& ctx, client::Client& c, const RunOptions& o) {
  api::Query q;
  if (!o.name.empty()) q.emplace_back("name", o.name);
  client::Request req = client::Request::post("/containers/create", q, o.config.dump());
  auto r = c.request(req);
  if (!r && r.error().kind == Errc::not_found && r.error().msg.find("No such image") != std::string::npos) {
    std::string image = o.config["Image"].get<std::string>();
    auto ref = parse_image_ref(image);
    if (!ref) return std::move(ref).error();
    ImageRef full = with_default_tag(*ref);
    ctx.err << "Unable to find image '" << full.familiar_string() << "' locally\n";
    ctx.err.flush();
    api::Query pq = {{"fromImage", full.name()}, {"tag", full.digest.empty() ? full.tag : full.digest}};
    client::Request pull = client::Request::post("/images/create", pq);
    pull.headers.push_back({"X-Registry-Auth", "e30="});  // base64("{}"): no credentials
    auto s = c.stream(pull);
    if (!s) return std::move(s).error();
    auto res = BERTH_TRY(display_json_stream(ctx, *s, ctx.err));
    ctx.err.flush();
    if (res) return make_error(Errc::internal, *res);
    r = c.request(req);
  }
  if (!r) return std::move(r).error();
  auto j = BERTH_TRY(r->json());
  if (j.contains("Warnings") && j["Warnings"].is_array())
    for (const auto& w : j["Warnings"])
      if (w.is_string() && !w.get<std::string>().empty()) ctx.err << "WARNING: " << w.get<std::string>() << "\n";
  ctx.err.flush();
  if (!j.contains("Id") || !j["Id"].is_string()) return make_error(Errc::internal, "create returned no Id");
  return j["Id"].get<std::string>();
}

void add_create_flags(FlagSet& f) {
  f.add_bool("detach", 'd', "Run container in background and print container ID");
  f.add_list("env", 'e', "Set environment variables");
  f.add_list("env-file", 0, "Read in a file of environment variables");
  f.add_string("entrypoint", 0, "", "Overwrite the default ENTRYPOINT of the image");
  f.add_string("hostname", 'h', "", "Container host name");
  f.add_bool("init", 0, "Run an init inside the container that forwards signals and reaps processes");
  f.add_bool("interactive", 'i', "Keep STDIN open even if not attached");
  f.add_list("label", 'l', "Set meta data on a container");
  f.add_string("name", 0, "", "Assign a name to the container");
  f.add_string("network", 0, "default", "Connect a container to a network", "network");
  f.add_bool("privileged", 0, "Give extended privileges to this container");
  f.add_list("publish", 'p', "Publish a container's port(s) to the host");
  f.add_bool("read-only", 0, "Mount the container's root filesystem as read only");
  f.add_string("restart", 0, "no", "Restart policy to apply when a container exits");
  f.add_bool("rm", 0, "Automatically remove the container and its associated anonymous volumes when it exits");
  f.add_bool("sig-proxy", 0, "Proxy received signals to the process", true);
  f.add_string("stop-signal", 0, "", "Signal to stop the container");
  f.add_bool("tty", 't', "Allocate a pseudo-TTY");
  f.add_string("user", 'u', "", "Username or UID (format: \"<name|uid>[:<group|gid>]\")");
  f.add_list("volume", 'v', "Bind mount a volume");
  f.add_string("workdir", 'w', "", "Working directory inside the container");
  f.add_list("cap-add", 0, "Add Linux capabilities");
  f.add_list("cap-drop", 0, "Drop Linux capabilities");
  f.add_string("cidfile", 0, "", "Write the container ID to the file");
  f.add_int("blkio-weight", 0, 0, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)");
  f.add_int("cpu-period", 0, 0, "Limit CPU CFS (Completely Fair Scheduler) period");
  f.add_int("cpu-quota", 0, 0, "Limit CPU CFS (Completely Fair Scheduler) quota");
  f.add_int("cpu-shares", 'c', 0, "CPU shares (relative weight)");
  f.add_string("cpus", 0, "", "Number of CPUs", "decimal");
  f.add_string("cpuset-cpus", 0, "", "CPUs in which to allow execution (0-3, 0,1)");
  f.add_string("cpuset-mems", 0, "", "MEMs in which to allow execution (0-3, 0,1)");
  f.add_list("device", 0, "Add a host device to the container");
  f.add_list("device-read-bps", 0, "Limit read rate (bytes per second) from a device", "list");
  f.add_list("device-read-iops", 0, "Limit read rate (IO per second) from a device", "list");
  f.add_list("device-write-bps", 0, "Limit write rate (bytes per second) to a device", "list");
  f.add_list("device-write-iops", 0, "Limit write rate (IO per second) to a device", "list");
  f.add_list("group-add", 0, "Add additional groups to join");
  f.add_string("health-cmd", 0, "", "Command to run to check health");
  f.add_string("health-interval", 0, "", "Time between running the check (ms|s|m|h) (default 0s)", "duration");
  f.add_int("health-retries", 0, 0, "Consecutive failures needed to report unhealthy");
  f.add_string("health-start-period", 0, "", "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)", "duration");
  f.add_string("health-timeout", 0, "", "Maximum time to allow one check to run (ms|s|m|h) (default 0s)", "duration");
  f.add_string("ipc", 0, "", "IPC mode to use");
  f.add_string("log-driver", 0, "", "Logging driver for the container");
  f.add_list("log-opt", 0, "Log driver options");
  f.add_string("memory", 'm', "", "Memory limit", "bytes");
  f.add_string("memory-reservation", 0, "", "Memory soft limit", "bytes");
  f.add_string("memory-swap", 0, "", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", "bytes");
  f.add_bool("no-healthcheck", 0, "Disable any container-specified HEALTHCHECK");
  f.add_bool("oom-kill-disable", 0, "Disable OOM Killer");
  f.add_int("oom-score-adj", 0, 0, "Tune host's OOM preferences (-1000 to 1000)");
  f.add_string("pid", 0, "", "PID namespace to use");
  f.add_int("pids-limit", 0, 0, "Tune container pids limit (set -1 for unlimited)");
  f.add_list("security-opt", 0, "Security Options");
  f.add_string("shm-size", 0, "", "Size of /dev/shm", "bytes");
  f.add_int("stop-timeout", 0, 0, "Timeout (in seconds) to stop a container");
  f.add_list("sysctl", 0, "Sysctl options", "map");
  f.add_list("ulimit", 0, "Ulimit options", "ulimit");
  f.add_string("uts", 0, "", "UTS namespace to use");
}

}  // namespace

int cmd_run(Context& ctx, const Args& args) {
  FlagSet f(/*interspersed=*/false);
  add_create_flags(f);
  if (auto rc = parse_flags(ctx, kRun, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kRun, "at least", 1);

  auto opts = build_config(ctx, f);
  if (!opts) return run_error(ctx, opts.error().msg, 125);
  RunOptions& o = *opts;
  if (o.tty && o.interactive && !::isatty(ctx.in_fd))
    return ctx.fail("the input device is not a TTY", 1);

  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  client::Client& c = **api;
  auto cid = CidFile::open(o.cidfile);
  if (!cid) return run_error(ctx, cid.error().msg, 125);
  auto id = create_container(ctx, c, o);
  if (!id) {
    if (id.error().kind == Errc::unavailable && id.error().msg.rfind("Cannot connect", 0) == 0)
      return ctx.fail(id.error().msg);
    return run_error(ctx, id.error().msg, 125);
  }
  if (auto st = cid->write(*id); !st) return run_error(ctx, st.error().msg, 125);
  std::string path = "/containers/" + *id;

  if (o.detach) {
    auto st = c.request(client::Request::post(path + "/start"));
    if (!st) return run_error(ctx, st.error().msg, start_error_code(st.error().msg));
    ctx.out << *id << "\n";
    return 0;
  }

  // attach (before start) and wait, both in flight before either answer is read.
  api::Query aq = {{"stream", "1"}};
  if (o.interactive) aq.emplace_back("stdin", "1");
  aq.emplace_back("stdout", "1");
  aq.emplace_back("stderr", "1");
  auto pending_attach = c.send_hijack(client::Request::post(path + "/attach", aq));
  if (!pending_attach) return run_error(ctx, pending_attach.error().msg, 125);
  auto pending_wait = c.send_stream(
      client::Request::post(path + "/wait", {{"condition", o.rm ? "removed" : "next-exit"}}));
  if (!pending_wait) return run_error(ctx, pending_wait.error().msg, 125);
  auto hj = pending_attach->finish();
  if (!hj) return run_error(ctx, hj.error().msg, 125);
  auto wait = pending_wait->finish();
  if (!wait) return run_error(ctx, wait.error().msg, 125);

  bool out_tty = o.tty && ::isatty(ctx.out.fd());
  SignalWatch signals(proxied_signals(o.sig_proxy, out_tty));

  auto started = c.request(client::Request::post(path + "/start"));
  if (!started) {
    if (o.rm) (void)wait_status(*wait);  // let the daemon finish removing it
    return run_error(ctx, started.error().msg, start_error_code(started.error().msg));
  }
  std::optional<RawTerminal> raw;
  if (o.tty && o.interactive && ::isatty(ctx.in_fd)) raw.emplace(ctx.in_fd);
  if (out_tty) resize_container(c, *id, ctx.out.fd());

  AttachIo io;
  io.id = *id;
  io.tty = o.tty;
  io.send_stdin = o.interactive;
  auto pumped = pump_attached(ctx, c, *hj, signals, io);
  raw.reset();
  if (!pumped) return run_error(ctx, pumped.error().msg, 125);
  if (*pumped) return 0;  // detached: the container keeps running, as with docker
  auto code = wait_status(*wait);
  if (!code) return run_error(ctx, code.error().msg, 125);
  return *code;
}

int cmd_create(Context& ctx, const Args& args) {
  FlagSet f(/*interspersed=*/false);
  add_create_flags(f);
  if (auto rc = parse_flags(ctx, kCreate, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kCreate, "at least", 1);
  auto opts = build_config(ctx, f);
  auto create_error = [&](std::string_view msg) {
    return ctx.fail(ctx.prog + ": " + std::string(msg) + "\n\nRun '" + ctx.prog + " create --help' for more information",
                    125);
  };
  if (!opts) return create_error(opts.error().msg);
  // create never attaches: the create body says so.
  opts->config["AttachStdout"] = false;
  opts->config["AttachStderr"] = false;
  opts->config["AttachStdin"] = false;
  opts->config["StdinOnce"] = false;
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto cid = CidFile::open(opts->cidfile);
  if (!cid) return create_error(cid.error().msg);
  auto id = create_container(ctx, **api, *opts);
  if (!id) return create_error(id.error().msg);
  if (auto st = cid->write(*id); !st) return create_error(st.error().msg);
  ctx.out << *id << "\n";
  return 0;
}

}  // namespace berth::cli
