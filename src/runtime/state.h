// Per-container runtime state: ROOT/ID/state.json (written atomically) and
// the exec fifo ROOT/ID/exec.fifo whose presence means "created, not started".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "oci/spec.h"

namespace berth::runtime {

struct ContainerState {
  std::string id;
  pid_t pid = 0;
  uint64_t start_time = 0;  // /proc/PID/stat field 22, guards against pid reuse
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339 nano
  std::map<std::string, std::string> annotations;
  std::string cgroup_path;
  std::vector<std::string> cgroup_dirs;
  bool own_pid_ns = true;
  std::vector<oci::Hook> poststart, poststop;
  // The config.json the container was created from (exec takes its
  // process defaults and seccomp profile from it, as runc does). Kept in
  // ROOT/ID/config.json, not in state.json, so that start, state, kill and
  // delete parse a few hundred bytes instead of the whole spec: null after
  // load() until load_config() (a state.json of an older runtime still
  // carries it inline, and load() takes it from there).
  Json config;

  Json to_json() const;
  static Result<ContainerState> from_json(const Json& j);
};

class StateDir {
 public:
  explicit StateDir(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string dir(const std::string& id) const { return root_ + "/" + id; }
  std::string fifo(const std::string& id) const { return dir(id) + "/exec.fifo"; }
  std::string config_file(const std::string& id) const { return dir(id) + "/config.json"; }
  // state.json; and config.json when s.config is set (an update).
  Status save(const ContainerState& s) const;
  // config.json as the bytes create read from the bundle (no re-dump),
  // atomically (an update replacing it).
  Status save_config_text(const std::string& id, std::string_view text) const;
  // The same for create, into its fresh state dir: a plain O_EXCL write, no
  // temp file and rename. Safe because nothing reads config.json before
  // state.json exists (load_config runs after load), and create writes
  // state.json after this returns.
  Status create_config_text(const std::string& id, std::string_view text) const;
  // Fills s.config from config.json unless load() already had it inline.
  Status load_config(ContainerState& s) const;
  // Errc::not_found with "container \"ID\" does not exist" when absent.
  Result<ContainerState> load(const std::string& id) const;
  std::vector<std::string> ids() const;
  Status remove(const std::string& id) const;

 private:
  std::string root_;
};

enum class ContainerStatus { created, running, paused, stopped };
const char* status_name(ContainerStatus s);
// stopped (init gone or pid reused), created (exec fifo present), paused
// (a freezer of the container's cgroup is frozen) or running.
ContainerStatus current_status(const StateDir& dir, const ContainerState& s);
// True when the v1 freezer.state or the v2 cgroup.freeze of one of `dirs`
// says frozen.
bool cgroup_frozen(const std::vector<std::string>& dirs);

// OCI state as `runc state` prints it.
OrderedJson oci_state_json(const ContainerState& s, ContainerStatus st);

// Container IDs: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 1024 chars.
Status validate_id(const std::string& id);

}  // namespace berth::runtime
