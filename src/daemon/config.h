// berthd's configuration: dockerd-style flags plus daemon.json. A key set
// both as a flag and in the file, or an unknown key, is an error (as dockerd).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/log.h"
#include "common/result.h"

namespace berth::daemon {

struct Config {
  std::vector<std::string> hosts;  // "unix:///run/berth/berth.sock"
  std::string data_root = "/var/lib/berth";
  std::string exec_root = "/run/berth";
  std::string config_file = "/etc/berth/daemon.json";
  bool config_file_explicit = false;
  log::Level log_level = log::Level::info;
  bool debug = false;
  std::string pidfile;  // default /run/berth/berthd.pid
  bool live_restore = false;
  std::string group = "berth";
  std::string default_runtime = "berth";
  std::map<std::string, std::string> runtimes;  // extra runtimes: name → path
  // Networking (dockerd's names).
  std::string bridge = "berth0";   // --bridge/-b: the default bridge's interface
  std::string bip;                 // --bip: gateway address/prefix of the default bridge
  std::string fixed_cidr;          // --fixed-cidr
  bool ipv6 = false;               // --ipv6: IPv6 on the default bridge
  std::string fixed_cidr_v6;       // --fixed-cidr-v6
  bool ip6tables = false;          // --ip6tables
  bool userland_proxy = true;      // --userland-proxy: berth-proxy for IPv6 host addresses of IPv4-only containers
  bool ip_forward = true;          // --ip-forward
  bool iptables = true;            // --iptables: berth's nftables table on/off
  std::string nft_table = "berth"; // --nft-table (berth's own): per-daemon table name
  std::vector<std::string> default_address_pools;  // "base=CIDR,size=N"
  int mtu = 1500;                  // --mtu
  std::string default_ip = "0.0.0.0";  // --ip: default address of published ports
  // Registry client (daemon.json only).
  std::vector<std::string> insecure_registries;
  std::vector<std::string> registry_mirrors;
  int max_concurrent_downloads = 3;
  int max_concurrent_uploads = 5;
  // daemon.json / flags for containers: log-driver, log-opts, default-ulimits
  std::string log_driver = "json-file";
  std::map<std::string, std::string> log_opts;
  Json default_ulimits = Json::object();  // name → {"Name","Soft","Hard"}
  std::string storage_driver;             // only overlay2 (or empty)
  std::vector<std::string> labels;
  std::vector<std::string> args;  // the command line, for SIGHUP reloads
  bool show_version = false;
  bool validate_store = false;  // --validate-store: check/repair images and blobs, exit
  bool show_help = false;
  // daemon.json keys that were given as flags (for the conflict check).
  std::set<std::string> from_flags;
};

// Flags only (argv[0] skipped). Unknown flag → Errc::invalid.
Result<Config> parse_flags(const std::vector<std::string>& args);
// Applies daemon.json text over flag defaults; errors as dockerd's.
Status apply_config_file(Config& cfg, std::string_view text);
// parse_flags + read the config file (missing default file is fine).
Result<Config> load_config(const std::vector<std::string>& args);
std::string usage();

// What a SIGHUP reload changed, as dockerd's reloadable keys (debug,
// log-level, live-restore, runtimes, default-runtime, labels): the keys
// that differ, applied to `live` when `apply`.
std::vector<std::string> reload_diff(Config& live, const Config& fresh, bool apply);

// "unix:///path" → "/path"; other schemes → Errc::invalid.
Result<std::string> unix_socket_path(std::string_view host);

}  // namespace berth::daemon
