// The runtime's operations (runc's verbs) over a state root directory.
// The CLI in src/bin/berth-runtime is a thin parser over this class; the
// shim can call it in-process.
#pragma once

#include <sys/types.h>

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

 private:
  Result<pid_t> create_impl(const CreateOptions& o, const sigset_t* child_mask);
  Status destroy(const ContainerState& s);

  StateDir dir_;
};

// A default config.json for a rootfs at "rootfs" (like `runc spec`).
OrderedJson default_spec(bool terminal);

}  // namespace berth::runtime
