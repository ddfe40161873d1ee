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
  bool show_version = false;
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

// "unix:///path" → "/path"; other schemes → Errc::invalid.
Result<std::string> unix_socket_path(std::string_view host);

}  // namespace berth::daemon
