// Runs a runc-compatible OCI runtime binary:
//   RUNTIME --root ROOT --log LOG --log-format json <command...>
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::shim {

// The message of the last {"level":"error"} entry in a runtime json log
// (runc's --log-format json), or "" if there is none.
std::string last_runtime_error(std::string_view log_text);

class RuntimeCli {
 public:
  RuntimeCli(std::string runtime, std::string root, std::string log_path)
      : runtime_(std::move(runtime)), root_(std::move(root)), log_path_(std::move(log_path)) {}

  // The runtime's stdio. -1 for in means /dev/null; -1 for out/err means a
  // capture pipe whose text becomes the error message when the log has none.
  struct Stdio {
    int in = -1;
    int out = -1;
    int err = -1;
  };
  struct Outcome {
    int wait_status = 0;
    std::string captured;  // stdout+stderr when captured
    std::string error;     // last error entry written to the log by this run
    bool success() const;
    // The best one-line message for a failure.
    std::string message(std::string_view fallback_output = {}) const;
  };

  // Runs the runtime and waits for it (blocking).
  Result<Outcome> run(const std::vector<std::string>& args, Stdio stdio) const;
  Result<Outcome> run(const std::vector<std::string>& args) const;
  // run() and map a failure to an Error with the runtime's message.
  Status run_checked(const std::vector<std::string>& args) const;

  const std::string& log_path() const { return log_path_; }
  // The same runtime with its --log sent elsewhere (e.g. /dev/null once
  // berthd may have removed the state dir).
  RuntimeCli with_log(std::string log_path) const {
    RuntimeCli r(runtime_, root_, std::move(log_path));
    r.sealed_fd_ = sealed_fd_;
    return r;
  }
  // Executes every berth-runtime command (create/run/exec, and also start,
  // kill, delete…) from `fd`, a sealed copy made by someone else (berthd),
  // instead of making one per create/run/exec. The fd must
  // stay open for this object's life; it is made close-on-exec. False (and
  // nothing changes) unless it is a memfd carrying the copy's seals.
  bool adopt_sealed_copy(int fd);

 private:
  std::string runtime_;
  std::string root_;
  std::string log_path_;
  int sealed_fd_ = -1;
};

}  // namespace berth::shim
