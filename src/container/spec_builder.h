// Container Config + HostConfig → OCI runtime spec (config.json). A pure
// function: everything it needs is in SpecInput; golden-tested.
#pragma once

#include <map>
#include <string>

#include "common/json.h"
#include "common/result.h"
#include "container/user.h"

namespace berth::container {

inline constexpr const char* kDefaultPathEnv =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct SpecInput {
  std::string id;           // 64 hex
  Json config;              // merged container Config (prepare_create's output)
  Json host_config;         // normalised HostConfig
  std::string path;         // argv[0]
  std::vector<std::string> args;
  std::string rootfs;       // the mounted overlay (root.path)
  std::string hostname_path, hosts_path, resolv_conf_path;
  std::string netns_path;   // join this network namespace ("" = a new one)
  Json extra_mounts;        // resolved OCI mounts (container/mounts.h); null: from HostConfig.Binds
  ResolvedUser user;
  // Filled in by the caller from the host (this function does no I/O):
  std::vector<std::string> host_caps;  // the host's bounding set, for --privileged
  // Devices to create: --device mappings, or every host device with
  // --privileged. Each {path, type, major, minor, fileMode, uid, gid} plus
  // "access" (cgroup permissions).
  std::vector<Json> devices;
  // Host device path → {major, minor} for the blkio throttle settings.
  std::map<std::string, std::pair<int64_t, int64_t>> device_numbers;
  // Namespaces to join: "pid"/"ipc" → /proc/N/ns/… (--pid/--ipc container:X).
  std::map<std::string, std::string> join_ns;
  std::string ipc_shm_source;  // /dev/shm of the container joined with --ipc container:X
  std::string init_binary;     // host path of berth-init (--init)
  std::vector<std::string> link_env;  // <ALIAS>_* of legacy links (before Config.Env)
  int kernel_major = 0, kernel_minor = 0;
  // The host's blkio controller has a weight file (CFQ/BFQ); without one,
  // Docker discards --blkio-weight with a warning.
  bool blkio_weight_supported = true;
};

// The hostname a container gets: Config.Hostname, else the first 12
// characters of its ID.
std::string container_hostname(const std::string& id, const Json& config);

// The process environment: Docker's PATH/HOSTNAME/TERM defaults overridden
// by Config.Env, then HOME from the user's passwd entry when unset.
std::vector<std::string> process_env(const SpecInput& in);

Result<Json> build_spec(const SpecInput& in);

}  // namespace berth::container
