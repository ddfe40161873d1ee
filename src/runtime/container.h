// The runtime's operations (runc's verbs) over a state root directory.
// The CLI in src/bin/berth-runtime is a thin parser over this class; the
// shim can call it in-process.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "runtime/state.h"

namespace berth::runtime {

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  int preserve_fds = 0;
};

struct ExecOptions {
  std::string id;
  std::string process_file;  // --process (JSON of an OCI process), "-" = stdin
  std::vector<std::string> args;  // used when process_file is empty
  bool detach = false;
  bool tty = false;
  std::string console_socket, pid_file, cwd, user;
  std::vector<std::string> env, caps;
  std::optional<bool> no_new_privs;
  std::vector<uint32_t> additional_gids;
  int preserve_fds = 0;
};

struct ListEntry {
  ContainerState state;
  ContainerStatus status;
};

class Runtime {
 public:
  explicit Runtime(std::string root) : dir_(std::move(root)) {}

  // Set up the container and leave its init blocked until start(). Returns
  // the init's pid; the init is a child of the calling process.
  Result<pid_t> create(const CreateOptions& o);
  Status start(const std::string& id);
  Result<OrderedJson> state(const std::string& id) const;
  Status kill(const std::string& id, int sig, bool all);
  // runc's delete: a created container is killed; a running one needs force.
  Status remove(const std::string& id, bool force);
  Result<std::vector<ListEntry>> list() const;
  // create + start; unless detached, forward signals, wait, delete and
  // return the exit status (128+signal for a signalled init).
  Result<int> run(const CreateOptions& o, bool detach);
  // A new process in a created or running container. Detached: returns 0
  // once it runs; else waits (forwarding signals) and returns its status.
  Result<int> exec(const ExecOptions& o);
  Status pause(const std::string& id);
  Status resume(const std::string& id);
  // Host pids of every process in the container's cgroup.
  Result<std::vector<pid_t>> pids(const std::string& id) const;
  // Apply new resources to a live container (runc update).
  Status update(const std::string& id, const oci::Resources& r);
  // runc's `events --stats` object: {"type":"stats","id":..,"data":{..}}.
  Result<OrderedJson> stats(const std::string& id) const;
  // The container cgroup's OOM-kill counter (see Cgroup::oom_kills); works
  // on a stopped container whose cgroup is not deleted yet.
  Result<uint64_t> oom_kills(const std::string& id) const;

 private:
  // `created` (optional) receives the state create saved.
  Result<pid_t> create_impl(const CreateOptions& o, const sigset_t* child_mask, ContainerState* created);
  // start of a container known to be created (its exec fifo is waited on).
  Status start_created(const ContainerState& s);
  Status destroy(const ContainerState& s);

  StateDir dir_;
};

// A default config.json for a rootfs at "rootfs" (like `runc spec`).
OrderedJson default_spec(bool terminal);
// `spec --rootless`: turn default_spec() into one a non-root user can run.
void make_rootless(OrderedJson& spec, uint32_t uid, uint32_t gid);
// runc's `features` JSON for this runtime and host.
OrderedJson features_json();
bool host_has_apparmor();
bool host_has_selinux();

// "RLIMIT_NOFILE" → RLIMIT_NOFILE; an unknown name is an invalid-config error.
Result<int> rlimit_resource(const std::string& name);

}  // namespace berth::runtime
