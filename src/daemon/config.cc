#include "daemon/config.h"

#include "common/fs.h"
#include "common/strings.h"

namespace berth::daemon {

namespace {
Error invalid(std::string m) { return make_error(Errc::invalid, std::move(m)); }

const std::set<std::string>& file_keys() {
  static const std::set<std::string> k = {"hosts",  "data-root",    "exec-root",       "log-level",
                                          "pidfile", "live-restore", "debug",           "default-runtime",
                                          "runtimes", "group", "bridge", "bip", "fixed-cidr",
                                          "ipv6", "fixed-cidr-v6", "ip6tables",
                                          "ip-forward", "iptables", "nft-table", "default-address-pools",
                                          "mtu", "userland-proxy", "ip", "insecure-registries", "registry-mirrors",
                                          "max-concurrent-downloads", "max-concurrent-uploads", "log-driver", "log-opts",
                                          "default-ulimits", "storage-driver", "labels"};
  return k;
}

Status add_runtime(Config& c, std::string_view spec) {
  auto eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 >= spec.size())
    return invalid("invalid runtime " + std::string(spec) + ": expected NAME=PATH");
  c.runtimes[std::string(spec.substr(0, eq))] = std::string(spec.substr(eq + 1));
  return ok();
}
}  // namespace

std::string usage() {
  return "Usage:\tberthd [OPTIONS]\n\n"
         "A self-sufficient runtime for containers (Docker Engine API 1.41).\n\n"
         "Options:\n"
         "      --add-runtime NAME=PATH  Register an additional OCI compatible runtime\n"
         "      --config-file string     Daemon configuration file (default \"/etc/berth/daemon.json\")\n"
         "      --data-root string       Root directory of persistent state (default \"/var/lib/berth\")\n"
         "  -D, --debug                  Enable debug mode\n"
         "      --default-runtime string Default OCI runtime for containers (default \"berth\")\n"
         "      --exec-root string       Root directory for execution state files (default \"/run/berth\")\n"
         "  -G, --group string           Group for the unix socket (default \"berth\")\n"
         "      --default-ulimit NAME=SOFT[:HARD]  Default ulimits for containers\n"
         "  -h, --help                   Print usage\n"
         "  -H, --host list              Daemon socket(s) to connect to (unix://PATH)\n"
         "  -b, --bridge string          Interface of the default bridge network (default \"berth0\")\n"
         "      --bip string             Default bridge's gateway address and prefix (e.g. 10.210.0.1/24)\n"
         "      --fixed-cidr string      IPv4 range for default bridge addresses\n"
         "      --ipv6                   Enable IPv6 networking on the default bridge\n"
         "      --fixed-cidr-v6 string   IPv6 subnet of the default bridge\n"
         "      --ip6tables              Publish ports without an address on [::] too\n"
         "      --default-address-pool   Default address pool for networks (base=CIDR,size=N)\n"
         "      --ip-forward             Enable net.ipv4.ip_forward (default true)\n"
         "      --iptables               Manage berth's nftables table (default true)\n"
         "      --nft-table string       Name of berth's nftables table (default \"berth\")\n"
         "      --ip ip                  Default IP when binding container ports (default 0.0.0.0)\n"
         "      --mtu int                MTU of container interfaces (default 1500)\n"
         "      --userland-proxy         Serve IPv6 host addresses of IPv4-only containers ([::], [::1])\n"
         "                               through berth-proxy (default true); IPv4 is always DNAT\n"
         "      --label list             Set key=value labels to the daemon\n"
         "      --live-restore           Keep containers running when the daemon stops\n"
         "      --log-driver string      Default driver for container logs (default \"json-file\")\n"
         "      --log-opt KEY=VALUE      Default log driver options for containers\n"
         "  -l, --log-level string       Set the logging level (debug|info|warn|error|fatal) (default \"info\")\n"
         "  -p, --pidfile string         Path to use for daemon PID file (default \"/run/berth/berthd.pid\")\n"
         "      --validate-store         Check (and repair) the image and blob store, then exit\n"
         "  -s, --storage-driver string  Storage driver to use (overlay2)\n"
         "  -v, --version                Print version information and quit\n";
}

Result<Config> parse_flags(const std::vector<std::string>& args) {
  Config c;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::string val;
    bool has_val = false;
    if (str::starts_with(a, "--")) {
      auto eq = a.find('=');
      if (eq != std::string::npos) {
        val = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_val = true;
      }
    } else if (a.size() > 2 && a[0] == '-' && a[1] != '-') {
      // -Hunix:///x style
      val = a.substr(2);
      a = a.substr(0, 2);
      has_val = true;
    }
    auto need = [&](const std::string& flag) -> Result<std::string> {
      if (has_val) return val;
      if (i + 1 >= args.size()) return invalid("flag needs an argument: " + flag);
      return args[++i];
    };
    auto boolean = [&](const std::string& flag) -> Result<bool> {
      if (!has_val) return true;
      std::string v = str::to_lower(val);
      if (v == "true" || v == "1") return true;
      if (v == "false" || v == "0") return false;
      return invalid("invalid boolean value \"" + val + "\" for " + flag);
    };
    if (a == "-H" || a == "--host") {
      c.hosts.push_back(BERTH_TRY(need(a)));
      c.from_flags.insert("hosts");
    } else if (a == "--data-root" || a == "-g" || a == "--graph") {
      c.data_root = BERTH_TRY(need(a));
      c.from_flags.insert("data-root");
    } else if (a == "--exec-root") {
      c.exec_root = BERTH_TRY(need(a));
      c.from_flags.insert("exec-root");
    } else if (a == "--config-file") {
      c.config_file = BERTH_TRY(need(a));
      c.config_file_explicit = true;
    } else if (a == "--log-level" || a == "-l") {
      std::string v = BERTH_TRY(need(a));
      if (!log::parse_level(v, &c.log_level))
        return invalid("unable to parse logging level: " + v);
      c.from_flags.insert("log-level");
    } else if (a == "-D" || a == "--debug") {
      c.debug = BERTH_TRY(boolean(a));
      c.from_flags.insert("debug");
    } else if (a == "--pidfile" || a == "-p") {
      c.pidfile = BERTH_TRY(need(a));
      c.from_flags.insert("pidfile");
    } else if (a == "--live-restore") {
      c.live_restore = BERTH_TRY(boolean(a));
      c.from_flags.insert("live-restore");
    } else if (a == "--group" || a == "-G") {
      c.group = BERTH_TRY(need(a));
      c.from_flags.insert("group");
    } else if (a == "--default-runtime") {
      c.default_runtime = BERTH_TRY(need(a));
      c.from_flags.insert("default-runtime");
    } else if (a == "--add-runtime") {
      BERTH_TRY_VOID(add_runtime(c, BERTH_TRY(need(a))));
      c.from_flags.insert("runtimes");
    } else if (a == "-b" || a == "--bridge") {
      c.bridge = BERTH_TRY(need(a));
      c.from_flags.insert("bridge");
    } else if (a == "--bip") {
      c.bip = BERTH_TRY(need(a));
      c.from_flags.insert("bip");
    } else if (a == "--fixed-cidr") {
      c.fixed_cidr = BERTH_TRY(need(a));
      c.from_flags.insert("fixed-cidr");
    } else if (a == "--ip-forward") {
      c.ip_forward = BERTH_TRY(boolean(a));
      c.from_flags.insert("ip-forward");
    } else if (a == "--ipv6") {
      c.ipv6 = BERTH_TRY(boolean(a));
      c.from_flags.insert("ipv6");
    } else if (a == "--fixed-cidr-v6") {
      c.fixed_cidr_v6 = BERTH_TRY(need(a));
      c.from_flags.insert("fixed-cidr-v6");
    } else if (a == "--ip6tables") {
      c.ip6tables = BERTH_TRY(boolean(a));
      c.from_flags.insert("ip6tables");
    } else if (a == "--iptables") {
      c.iptables = BERTH_TRY(boolean(a));
      c.from_flags.insert("iptables");
    } else if (a == "--nft-table") {
      c.nft_table = BERTH_TRY(need(a));
      c.from_flags.insert("nft-table");
    } else if (a == "--default-address-pool") {
      c.default_address_pools.push_back(BERTH_TRY(need(a)));
      c.from_flags.insert("default-address-pools");
    } else if (a == "--ip") {
      c.default_ip = BERTH_TRY(need(a));
      c.from_flags.insert("ip");
    } else if (a == "--mtu") {
      auto n = str::parse_int(BERTH_TRY(need(a)));
      if (!n || *n < 68 || *n > 65535) return invalid("invalid value for --mtu");
      c.mtu = static_cast<int>(*n);
      c.from_flags.insert("mtu");
    } else if (a == "--userland-proxy") {
      c.userland_proxy = BERTH_TRY(boolean(a));
      c.from_flags.insert("userland-proxy");
    } else if (a == "--validate-store") {
      c.validate_store = true;
    } else if (a == "--log-driver") {
      c.log_driver = BERTH_TRY(need(a));
      c.from_flags.insert("log-driver");
    } else if (a == "--log-opt") {
      std::string kv = BERTH_TRY(need(a));
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) return invalid("invalid log-opt " + kv + ": expected KEY=VALUE");
      c.log_opts[kv.substr(0, eq)] = kv.substr(eq + 1);
      c.from_flags.insert("log-opts");
    } else if (a == "-s" || a == "--storage-driver") {
      c.storage_driver = BERTH_TRY(need(a));
      c.from_flags.insert("storage-driver");
    } else if (a == "--label") {
      c.labels.push_back(BERTH_TRY(need(a)));
      c.from_flags.insert("labels");
    } else if (a == "--default-ulimit") {
      // nofile=1024:2048 or nofile=1024
      std::string v = BERTH_TRY(need(a));
      auto eq = v.find('=');
      if (eq == std::string::npos) return invalid("invalid ulimit argument: " + v);
      std::string name = v.substr(0, eq), lim = v.substr(eq + 1);
      auto colon = lim.find(':');
      auto soft = str::parse_int(lim.substr(0, colon));
      auto hard = colon == std::string::npos ? soft : str::parse_int(lim.substr(colon + 1));
      if (!soft || !hard) return invalid("invalid ulimit argument: " + v);
      if (*soft > *hard)
        return invalid("ulimit soft limit must be less than or equal to hard limit: " + std::to_string(*soft) +
                       " > " + std::to_string(*hard));
      c.default_ulimits[name] = Json{{"Name", name}, {"Soft", *soft}, {"Hard", *hard}};
      c.from_flags.insert("default-ulimits");
    } else if (a == "-v" || a == "--version") {
      c.show_version = true;
    } else if (a == "-h" || a == "--help") {
      c.show_help = true;
    } else {
      return invalid("unknown flag: " + args[i] + "\nSee 'berthd --help'.");
    }
  }
  if (c.debug) c.log_level = log::Level::debug;
  return c;
}

Status apply_config_file(Config& c, std::string_view text) {
  auto parsed = parse_json(text);
  if (!parsed) return invalid("unable to configure the daemon with file " + c.config_file + ": " + parsed.error().msg);
  Json j = std::move(*parsed);
  if (!j.is_object()) return invalid("unable to configure the daemon with file " + c.config_file + ": expected a JSON object");
  std::vector<std::string> unknown, both;
  for (const auto& [k, v] : j.items()) {
    if (!file_keys().count(k)) unknown.push_back(k);
    else if (c.from_flags.count(k)) both.push_back(k);
  }
  if (!unknown.empty()) {
    std::string m = "the following directives don't match any configuration option: ";
    for (size_t i = 0; i < unknown.size(); ++i) m += (i ? ", " : "") + unknown[i];
    return invalid(m);
  }
  if (!both.empty()) {
    std::string m = "the following directives are specified both as a flag and in the configuration file: ";
    for (size_t i = 0; i < both.size(); ++i) m += (i ? ", " : "") + both[i];
    return invalid(m);
  }
  auto want_str = [&](const char* k) -> Result<std::string> {
    if (!j[k].is_string()) return invalid(std::string("invalid value for ") + k + ": expected a string");
    return j[k].get<std::string>();
  };
  auto want_bool = [&](const char* k) -> Result<bool> {
    if (!j[k].is_boolean()) return invalid(std::string("invalid value for ") + k + ": expected a boolean");
    return j[k].get<bool>();
  };
  if (j.contains("hosts")) {
    if (!j["hosts"].is_array()) return invalid("invalid value for hosts: expected an array of strings");
    for (const auto& h : j["hosts"]) {
      if (!h.is_string()) return invalid("invalid value for hosts: expected an array of strings");
      c.hosts.push_back(h.get<std::string>());
    }
  }
  if (j.contains("data-root")) c.data_root = BERTH_TRY(want_str("data-root"));
  if (j.contains("exec-root")) c.exec_root = BERTH_TRY(want_str("exec-root"));
  if (j.contains("pidfile")) c.pidfile = BERTH_TRY(want_str("pidfile"));
  if (j.contains("group")) c.group = BERTH_TRY(want_str("group"));
  if (j.contains("default-runtime")) c.default_runtime = BERTH_TRY(want_str("default-runtime"));
  if (j.contains("log-level")) {
    std::string v = BERTH_TRY(want_str("log-level"));
    if (!log::parse_level(v, &c.log_level)) return invalid("unable to parse logging level: " + v);
  }
  if (j.contains("debug")) {
    c.debug = BERTH_TRY(want_bool("debug"));
    if (c.debug) c.log_level = log::Level::debug;
  }
  if (j.contains("live-restore")) c.live_restore = BERTH_TRY(want_bool("live-restore"));
  if (j.contains("bridge")) c.bridge = BERTH_TRY(want_str("bridge"));
  if (j.contains("bip")) c.bip = BERTH_TRY(want_str("bip"));
  if (j.contains("ip")) c.default_ip = BERTH_TRY(want_str("ip"));
  if (j.contains("fixed-cidr")) c.fixed_cidr = BERTH_TRY(want_str("fixed-cidr"));
  if (j.contains("nft-table")) c.nft_table = BERTH_TRY(want_str("nft-table"));
  if (j.contains("ip-forward")) c.ip_forward = BERTH_TRY(want_bool("ip-forward"));
  if (j.contains("iptables")) c.iptables = BERTH_TRY(want_bool("iptables"));
  if (j.contains("ipv6")) c.ipv6 = BERTH_TRY(want_bool("ipv6"));
  if (j.contains("fixed-cidr-v6")) c.fixed_cidr_v6 = BERTH_TRY(want_str("fixed-cidr-v6"));
  if (j.contains("ip6tables")) c.ip6tables = BERTH_TRY(want_bool("ip6tables"));
  if (j.contains("userland-proxy")) c.userland_proxy = BERTH_TRY(want_bool("userland-proxy"));
  if (j.contains("mtu")) {
    if (!j["mtu"].is_number_integer()) return invalid("invalid value for mtu: expected an integer");
    c.mtu = j["mtu"].get<int>();
  }
  if (j.contains("default-address-pools")) {
    if (!j["default-address-pools"].is_array())
      return invalid("invalid value for default-address-pools: expected an array");
    for (const auto& p : j["default-address-pools"]) {
      if (!p.is_object() || !p.contains("base") || !p["base"].is_string() || !p.contains("size") ||
          !p["size"].is_number_integer())
        return invalid("invalid value for default-address-pools: each needs \"base\" and \"size\"");
      c.default_address_pools.push_back("base=" + p["base"].get<std::string>() +
                                        ",size=" + std::to_string(p["size"].get<int>()));
    }
  }
  for (const char* key : {"insecure-registries", "registry-mirrors"}) {
    if (!j.contains(key)) continue;
    auto& dst = std::string_view(key) == "insecure-registries" ? c.insecure_registries : c.registry_mirrors;
    if (!j[key].is_array()) return invalid(std::string("invalid value for ") + key + ": expected an array of strings");
    for (const auto& h : j[key]) {
      if (!h.is_string()) return invalid(std::string("invalid value for ") + key + ": expected an array of strings");
      std::string v = h.get<std::string>();
      if (std::string_view(key) == "registry-mirrors") {  // Docker's ValidateMirror
        auto sc = v.find("://");
        std::string scheme = sc == std::string::npos ? "" : v.substr(0, sc);
        if (scheme != "http" && scheme != "https")
          return invalid("invalid mirror: unsupported scheme \"" + scheme + "\" in \"" + v + "\"");
        auto rest = v.substr(sc + 3);
        auto sl = rest.find_first_of("/?#");
        if (rest.empty() || (sl != std::string::npos && rest.substr(sl) != "/"))
          return invalid("invalid mirror: path, query, or fragment at end of the URI \"" + v + "\"");
      }
      dst.push_back(std::move(v));
    }
  }
  for (const char* key : {"max-concurrent-downloads", "max-concurrent-uploads"}) {
    if (!j.contains(key)) continue;
    if (!j[key].is_number_integer() || j[key].get<int64_t>() < 1 || j[key].get<int64_t>() > 64)
      return invalid(std::string("invalid value for ") + key + ": expected an integer from 1 to 64");
    (std::string_view(key) == "max-concurrent-downloads" ? c.max_concurrent_downloads : c.max_concurrent_uploads) =
        static_cast<int>(j[key].get<int64_t>());
  }
  if (j.contains("log-driver")) c.log_driver = BERTH_TRY(want_str("log-driver"));
  if (j.contains("log-opts")) {
    if (!j["log-opts"].is_object()) return invalid("invalid value for log-opts: expected an object of strings");
    for (const auto& [k, v] : j["log-opts"].items()) {
      if (!v.is_string()) return invalid("invalid value for log-opts: expected an object of strings");
      c.log_opts[k] = v.get<std::string>();
    }
  }
  if (j.contains("storage-driver")) c.storage_driver = BERTH_TRY(want_str("storage-driver"));
  if (j.contains("labels")) {
    if (!j["labels"].is_array()) return invalid("invalid value for labels: expected an array of strings");
    c.labels.clear();
    for (const auto& l : j["labels"]) {
      if (!l.is_string()) return invalid("invalid value for labels: expected an array of strings");
      c.labels.push_back(l.get<std::string>());
    }
  }
  if (j.contains("default-ulimits")) {
    if (!j["default-ulimits"].is_object()) return invalid("invalid value for default-ulimits: expected an object");
    for (const auto& [name, u] : j["default-ulimits"].items()) {
      if (!u.is_object() || !u.value("Soft", Json()).is_number_integer() || !u.value("Hard", Json()).is_number_integer())
        return invalid("invalid value for default-ulimits: " + name + " needs integer Soft and Hard");
      if (u["Soft"].get<int64_t>() > u["Hard"].get<int64_t>())
        return invalid("ulimit soft limit must be less than or equal to hard limit: " +
                       std::to_string(u["Soft"].get<int64_t>()) + " > " + std::to_string(u["Hard"].get<int64_t>()));
      c.default_ulimits[name] = Json{{"Name", name}, {"Soft", u["Soft"]}, {"Hard", u["Hard"]}};
    }
  }
  if (j.contains("runtimes")) {
    if (!j["runtimes"].is_object()) return invalid("invalid value for runtimes: expected an object");
    for (const auto& [name, v] : j["runtimes"].items()) {
      if (!v.is_object() || !v.contains("path") || !v["path"].is_string())
        return invalid("invalid runtime " + name + ": \"path\" is required");
      for (const auto& [k, x] : v.items()) {
        if (k == "path") continue;
        if (k == "runtimeArgs" && x.is_array() && x.empty()) continue;
        return invalid("runtime " + name + ": berth does not support \"" + k + "\" yet");
      }
      c.runtimes[name] = v["path"].get<std::string>();
    }
  }
  return ok();
}

Result<Config> load_config(const std::vector<std::string>& args) {
  Config c = BERTH_TRY(parse_flags(args));
  c.args = args;
  if (c.show_help || c.show_version) return c;
  if (fs::exists(c.config_file)) {
    auto text = fs::read_file(c.config_file);
    if (!text) return invalid("unable to read " + c.config_file + ": " + text.error().msg);
    BERTH_TRY_VOID(apply_config_file(c, *text));
  } else if (c.config_file_explicit) {
    return invalid("open " + c.config_file + ": no such file or directory");
  }
  // Fixed defaults, as dockerd's (not derived from --exec-root).
  if (c.hosts.empty()) c.hosts.push_back("unix:///run/berth/berth.sock");
  if (c.pidfile.empty()) c.pidfile = "/run/berth/berthd.pid";
  if (!c.storage_driver.empty() && c.storage_driver != "overlay2")
    return invalid("berth supports only the overlay2 storage driver, not \"" + c.storage_driver + "\"");
  return c;
}

std::vector<std::string> reload_diff(Config& live, const Config& fresh, bool apply) {
  std::vector<std::string> changed;
  if (live.debug != fresh.debug) changed.push_back("debug");
  if (live.log_level != fresh.log_level) changed.push_back("log-level");
  if (live.live_restore != fresh.live_restore) changed.push_back("live-restore");
  if (live.runtimes != fresh.runtimes) changed.push_back("runtimes");
  if (live.default_runtime != fresh.default_runtime) changed.push_back("default-runtime");
  if (live.labels != fresh.labels) changed.push_back("labels");
  if (apply) {
    live.debug = fresh.debug;
    live.log_level = fresh.log_level;
    live.live_restore = fresh.live_restore;
    live.runtimes = fresh.runtimes;
    live.default_runtime = fresh.default_runtime;
    live.labels = fresh.labels;
  }
  return changed;
}

Result<std::string> unix_socket_path(std::string_view host) {
  if (str::starts_with(host, "unix://")) {
    std::string p(host.substr(7));
    if (p.empty() || p[0] != '/') return invalid("invalid unix socket path: " + std::string(host));
    return p;
  }
  if (str::starts_with(host, "fd://"))
    return invalid("berthd does not support socket activation (fd://) yet");
  if (str::starts_with(host, "tcp://"))
    return invalid("berthd does not listen on TCP yet (use unix://PATH)");
  if (!host.empty() && host[0] == '/') return std::string(host);
  return invalid("invalid daemon host: " + std::string(host));
}

}  // namespace berth::daemon
