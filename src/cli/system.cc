// `berth version` and `berth info`, laid out as the docker CLI 28 prints
// them.
#include <sys/utsname.h>

#include <algorithm>
#include <ctime>

#include "cli/version_info.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "cli/template.h"
#include "common/strings.h"
#include "common/time.h"

namespace berth::cli {

namespace {

constexpr CommandSpec kVersion{"version", "version [OPTIONS]", "Show the Docker version information"};
constexpr CommandSpec kInfo{"info", "info [OPTIONS]", "Display system-wide information"};

std::string str_of(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_boolean()) return it->get<bool>() ? "true" : "false";
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return it->dump();
}

// The CLI shows RFC 3339 build times in Go's time.ANSIC layout, in the
// time's own zone: "Thu May  7 21:09:36 2026".
std::string ansic_date(const std::string& rfc3339) {
  auto ns = timeutil::parse_rfc3339(rfc3339);
  if (!ns) return rfc3339;
  int64_t offset = 0;
  size_t tpos = rfc3339.find('T');
  size_t zpos = rfc3339.find_first_of("+-", tpos == std::string::npos ? 0 : tpos);
  if (zpos != std::string::npos && zpos + 6 <= rfc3339.size()) {
    auto h = str::parse_int(rfc3339.substr(zpos + 1, 2));
    auto m = str::parse_int(rfc3339.substr(zpos + 4, 2));
    if (h && m) offset = (*h * 3600 + *m * 60) * (rfc3339[zpos] == '-' ? -1 : 1);
  }
  time_t t = static_cast<time_t>(*ns / 1000000000LL + offset);
  struct tm tm {};
  if (!::gmtime_r(&t, &tm)) return rfc3339;
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
  return buf;
}

std::string machine_arch() {
  utsname u{};
  if (::uname(&u) != 0) return "unknown";
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  return m;
}

// Renders a template with a {"Client":..,"Server":..} / info document.
int format_output(Context& ctx, const std::string& format, const OrderedJson& data) {
  auto t = Template::parse(format);
  if (!t) return ctx.fail(t.error().msg);
  auto s = t->execute(data);
  if (!s) return ctx.fail(s.error().msg);
  ctx.out << *s << "\n";
  return 0;
}

}  // namespace

int cmd_version(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_string("format", 'f', "", "Format output using a custom template");
  if (auto rc = parse_flags(ctx, kVersion, flags, args)) return *rc;
  if (!flags.args().empty()) return ctx.args_error(kVersion, "none", 0);

  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  client::Client& c = **api;
  // Ping first, as the CLI does; the server section needs /version.
  auto negotiated = c.version();
  Result<Json> server = make_error(Errc::unavailable, "");
  OrderedJson server_ordered;  // for --format, in the daemon's key order
  if (negotiated) {
    auto r = c.request(client::Request::get("/version"));
    server = r ? r->json() : Result<Json>(std::move(r).error());
    if (server) server_ordered = r->ordered_json().value_or(OrderedJson());
  } else {
    server = std::move(negotiated).error();
  }
  std::string api_version = negotiated ? negotiated->str() : c.max_version().str();
  std::string default_version = c.max_version().str();

  if (!flags.get_string("format").empty()) {
    OrderedJson doc = OrderedJson::object();
    doc["Client"] = {{"Version", std::string(kBerthVersion)},       {"ApiVersion", api_version},
                     {"DefaultAPIVersion", default_version}, {"GitCommit", std::string(kBerthGitCommit)},
                     {"Os", "linux"},                   {"Arch", machine_arch()},
                     {"Context", "default"}};
    doc["Server"] = server_ordered;
    int rc = format_output(ctx, flags.get_string("format"), doc);
    if (rc == 0 && !server) return ctx.fail(server.error().msg);
    return rc;
  }

  TabWriter tw(20, 1);
  tw.text("Client:");
  tw.row({" Version:", kBerthVersion});
  tw.row({" API version:", api_version + (api_version != default_version
                                               ? " (downgraded from " + default_version + ")"
                                               : std::string())});
  tw.row({" Git commit:", kBerthGitCommit});
  tw.row({" OS/Arch:", "linux/" + machine_arch()});
  tw.row({" Context:", "default"});
  if (server) {
    const Json& s = *server;
    tw.text("");
    std::string platform;
    if (s.contains("Platform") && s["Platform"].is_object()) platform = str_of(s["Platform"], "Name");
    tw.text("Server:" + (platform.empty() ? std::string() : " " + platform));
    Json components = s.contains("Components") && s["Components"].is_array() ? s["Components"] : Json::array();
    if (components.empty()) {
      // Daemons without Components: the CLI builds the Engine entry itself.
      components.push_back({{"Name", "Engine"}, {"Version", str_of(s, "Version")}, {"Details", s}});
    }
    for (const auto& comp : components) {
      std::string name = str_of(comp, "Name");
      const Json& d = comp.contains("Details") && comp["Details"].is_object() ? comp["Details"] : Json::object();
      tw.text(" " + name + ":");
      if (name == "Engine") {
        tw.row({"  Version:", str_of(comp, "Version")});
        tw.row({"  API version:", str_of(d, "ApiVersion") + " (minimum version " + str_of(d, "MinAPIVersion") + ")"});
        tw.row({"  Go version:", str_of(d, "GoVersion")});
        tw.row({"  Git commit:", str_of(d, "GitCommit")});
        tw.row({"  Built:", ansic_date(str_of(d, "BuildTime"))});
        tw.row({"  OS/Arch:", str_of(d, "Os") + "/" + str_of(d, "Arch")});
        tw.row({"  Experimental:", str_of(d, "Experimental")});
      } else {
        tw.row({"  Version:", str_of(comp, "Version")});
        std::vector<std::string> keys;
        for (auto it = d.begin(); it != d.end(); ++it) keys.push_back(it.key());
        std::sort(keys.begin(), keys.end());
        for (const auto& k : keys) tw.row({"  " + k + ":", str_of(d, k.c_str())});
      }
    }
  }
  ctx.out << tw.str();
  if (!server) {
    ctx.out.flush();
    return ctx.fail(server.error().msg);
  }
  return 0;
}

namespace {

std::string join(const Json& arr, const char* sep) {
  std::string out;
  if (!arr.is_array()) return out;
  for (const auto& e : arr) {
    if (!out.empty()) out += sep;
    out += e.is_string() ? e.get<std::string>() : e.dump();
  }
  return out;
}

void line_nonempty(std::string* out, const char* label, const std::string& v) {
  if (!v.empty()) *out += std::string(label) + " " + v + "\n";
}

// Decodes a base64 IPv4/IPv6 mask (Go's net.IPMask JSON) into a prefix length.
int mask_bits(const std::string& b64) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int bits = 0;
  uint32_t acc = 0;
  int nacc = 0;
  std::vector<unsigned char> bytes;
  for (char c : b64) {
    if (c == '=') break;
    size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) return -1;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    nacc += 6;
    if (nacc >= 8) {
      nacc -= 8;
      bytes.push_back(static_cast<unsigned char>((acc >> nacc) & 0xff));
    }
  }
  for (unsigned char b : bytes)
    for (int i = 7; i >= 0; --i)
      if (b & (1 << i)) ++bits;
  return bits;
}

std::string render_info(const Json& info) {
  std::string o;
  auto num = [&](const char* k) { return str_of(info, k).empty() ? std::string("0") : str_of(info, k); };
  o += " Containers: " + num("Containers") + "\n";
  o += "  Running: " + num("ContainersRunning") + "\n";
  o += "  Paused: " + num("ContainersPaused") + "\n";
  o += "  Stopped: " + num("ContainersStopped") + "\n";
  o += " Images: " + num("Images") + "\n";
  line_nonempty(&o, " Server Version:", str_of(info, "ServerVersion"));
  line_nonempty(&o, " Storage Driver:", str_of(info, "Driver"));
  for (const char* key : {"DriverStatus", "SystemStatus"}) {
    if (info.contains(key) && info[key].is_array()) {
      for (const auto& pair : info[key]) {
        if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_string())
          o += std::string(key[0] == 'D' ? "  " : " ") + pair[0].get<std::string>() + ": " +
               pair[1].get<std::string>() + "\n";
      }
    }
  }
  line_nonempty(&o, " Logging Driver:", str_of(info, "LoggingDriver"));
  line_nonempty(&o, " Cgroup Driver:", str_of(info, "CgroupDriver"));
  line_nonempty(&o, " Cgroup Version:", str_of(info, "CgroupVersion"));
  const Json plugins = info.contains("Plugins") ? info["Plugins"] : Json::object();
  o += " Plugins:\n";
  o += "  Volume: " + join(plugins.value("Volume", Json::array()), " ") + "\n";
  o += "  Network: " + join(plugins.value("Network", Json::array()), " ") + "\n";
  if (plugins.contains("Authorization") && plugins["Authorization"].is_array() && !plugins["Authorization"].empty())
    o += "  Authorization: " + join(plugins["Authorization"], " ") + "\n";
  o += "  Log: " + join(plugins.value("Log", Json::array()), " ") + "\n";
  std::string swarm = info.contains("Swarm") ? str_of(info["Swarm"], "LocalNodeState") : "";
  o += " Swarm: " + swarm + "\n";
  if (info.contains("Runtimes") && info["Runtimes"].is_object() && !info["Runtimes"].empty()) {
    std::vector<std::string> names;
    for (auto it = info["Runtimes"].begin(); it != info["Runtimes"].end(); ++it) names.push_back(it.key());
    std::sort(names.begin(), names.end());
    std::string j;
    for (const auto& n : names) j += (j.empty() ? "" : " ") + n;
    o += " Runtimes: " + j + "\n";
    o += " Default Runtime: " + str_of(info, "DefaultRuntime") + "\n";
  }
  if (str_of(info, "OSType") == "linux") {
    o += " Init Binary: " + str_of(info, "InitBinary") + "\n";
    for (auto [label, key] : {std::pair{"containerd", "ContainerdCommit"}, std::pair{"runc", "RuncCommit"},
                              std::pair{"init", "InitCommit"}}) {
      Json commit = info.contains(key) ? info[key] : Json::object();
      std::string id = str_of(commit, "ID"), expected = str_of(commit, "Expected");
      o += std::string(" ") + label + " version: " + id;
      if (commit.contains("Expected") && id != expected) o += " (expected: " + expected + ")";
      o += "\n";
    }
    if (info.contains("SecurityOptions") && info["SecurityOptions"].is_array() && !info["SecurityOptions"].empty()) {
      o += " Security Options:\n";
      for (const auto& so : info["SecurityOptions"]) {
        if (!so.is_string()) continue;
        std::string name, profile;
        for (const auto& kv : str::split(so.get<std::string>(), ',')) {
          size_t eq = kv.find('=');
          std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
          if (k == "name") name = v;
          if (k == "profile") profile = v;
        }
        o += "  " + name + "\n";
        if (!profile.empty()) o += "   Profile: " + profile + "\n";
      }
    }
  }
  line_nonempty(&o, " Kernel Version:", str_of(info, "KernelVersion"));
  line_nonempty(&o, " Operating System:", str_of(info, "OperatingSystem"));
  line_nonempty(&o, " OSType:", str_of(info, "OSType"));
  line_nonempty(&o, " Architecture:", str_of(info, "Architecture"));
  o += " CPUs: " + num("NCPU") + "\n";
  double mem = info.contains("MemTotal") && info["MemTotal"].is_number() ? info["MemTotal"].get<double>() : 0;
  o += " Total Memory: " + bytes_size(mem) + "\n";
  line_nonempty(&o, " Name:", str_of(info, "Name"));
  line_nonempty(&o, " ID:", str_of(info, "ID"));
  o += " Docker Root Dir: " + str_of(info, "DockerRootDir") + "\n";
  bool debug = info.value("Debug", false);
  o += std::string(" Debug Mode: ") + (debug ? "true" : "false") + "\n";
  if (debug) {
    o += "  File Descriptors: " + num("NFd") + "\n";
    o += "  Goroutines: " + num("NGoroutines") + "\n";
    o += "  System Time: " + str_of(info, "SystemTime") + "\n";
    o += "  EventsListeners: " + num("NEventsListener") + "\n";
  }
  line_nonempty(&o, " HTTP Proxy:", str_of(info, "HttpProxy"));
  line_nonempty(&o, " HTTPS Proxy:", str_of(info, "HttpsProxy"));
  line_nonempty(&o, " No Proxy:", str_of(info, "NoProxy"));
  if (info.contains("Labels") && info["Labels"].is_array() && !info["Labels"].empty()) {
    o += " Labels:\n";
    for (const auto& l : info["Labels"])
      if (l.is_string()) o += "  " + l.get<std::string>() + "\n";
  }
  o += std::string(" Experimental: ") + (info.value("ExperimentalBuild", false) ? "true" : "false") + "\n";
  if (info.contains("RegistryConfig") && info["RegistryConfig"].is_object()) {
    const Json& rc = info["RegistryConfig"];
    Json cidrs = rc.contains("InsecureRegistryCIDRs") && rc["InsecureRegistryCIDRs"].is_array()
                     ? rc["InsecureRegistryCIDRs"] : Json::array();
    Json index = rc.contains("IndexConfigs") && rc["IndexConfigs"].is_object() ? rc["IndexConfigs"] : Json::object();
    if (!cidrs.empty() || !index.empty()) {
      o += " Insecure Registries:\n";
      std::vector<std::string> names;
      for (auto it = index.begin(); it != index.end(); ++it)
        if (it->is_object() && !it->value("Secure", true)) names.push_back(str_of(*it, "Name"));
      std::sort(names.begin(), names.end());
      for (const auto& n : names) o += "  " + n + "\n";
      for (const auto& c : cidrs) {
        if (c.is_string())  // registry.NetIPNet marshals as "127.0.0.0/8"
          o += "  " + c.get<std::string>() + "\n";
        else
          o += "  " + str_of(c, "IP") + "/" + std::to_string(mask_bits(str_of(c, "Mask"))) + "\n";
      }
    }
    if (rc.contains("Mirrors") && rc["Mirrors"].is_array() && !rc["Mirrors"].empty()) {
      o += " Registry Mirrors:\n";
      for (const auto& m : rc["Mirrors"])
        if (m.is_string()) o += "  " + m.get<std::string>() + "\n";
    }
  }
  o += std::string(" Live Restore Enabled: ") + (info.value("LiveRestoreEnabled", false) ? "true" : "false") + "\n";
  line_nonempty(&o, " Product License:", str_of(info, "ProductLicense"));
  if (info.contains("DefaultAddressPools") && info["DefaultAddressPools"].is_array() &&
      !info["DefaultAddressPools"].empty()) {
    o += " Default Address Pools:\n";
    for (const auto& p : info["DefaultAddressPools"])
      o += "   Base: " + str_of(p, "Base") + ", Size: " + str_of(p, "Size") + "\n";
  }
  o += "\n";
  return o;
}

}  // namespace

int cmd_info(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_string("format", 'f', "", "Format output using a custom template");
  if (auto rc = parse_flags(ctx, kInfo, flags, args)) return *rc;
  if (!flags.args().empty()) return ctx.args_error(kInfo, "none", 0);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto r = (*api)->request(client::Request::get("/info"));
  Result<Json> info = r ? r->json() : Result<Json>(std::move(r).error());

  if (!flags.get_string("format").empty()) {
    if (!info) return ctx.fail(info.error().msg);
    OrderedJson doc = OrderedJson::parse(r->body, nullptr, false);
    if (!doc.is_object()) return ctx.fail("invalid JSON in the daemon's response");
    doc["ClientInfo"] = {{"Debug", ctx.debug}, {"Version", std::string(kBerthVersion)}, {"Context", "default"}};
    return format_output(ctx, flags.get_string("format"), doc);
  }

  ctx.out << "Client:\n Version:    " << kBerthVersion << "\n Context:    default\n Debug Mode: "
          << (ctx.debug ? "true" : "false") << "\n\n";
  if (!info) {
    ctx.out << "Server:\n";
    ctx.out.flush();
    ctx.err << "ERROR: " << info.error().msg << "\nerrors pretty printing info\n";
    ctx.err.flush();
    return 1;
  }
  ctx.out << "Server:\n" << render_info(*info);
  ctx.out.flush();
  if (info->contains("Warnings") && (*info)["Warnings"].is_array()) {
    for (const auto& w : (*info)["Warnings"])
      if (w.is_string()) ctx.err << w.get<std::string>() << "\n";
  }
  return 0;
}

}  // namespace berth::cli
