// Receiving side of the OCI runtime's --console-socket: a listening unix
// socket on which the runtime sends the pty master with SCM_RIGHTS.
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::shim {

class ConsoleSocket {
 public:
  // Listens on `path` (unix path limit applies; see make_console_socket_path).
  static Result<ConsoleSocket> listen(const std::string& path);
  ConsoleSocket(ConsoleSocket&&) = default;
  ConsoleSocket& operator=(ConsoleSocket&&) = default;
  ~ConsoleSocket();

  // Accepts one connection and receives the pty master fd (waits up to
  // timeout_ms for the runtime to connect).
  Result<UniqueFd> receive_master(int timeout_ms);
  const std::string& path() const { return path_; }

 private:
  ConsoleSocket() = default;
  std::string path_;
  std::string tmp_dir_;  // removed on destruction when non-empty
  UniqueFd fd_;
  friend Result<ConsoleSocket> make_console_socket(const std::string& state_dir);
};

// A console socket in state_dir, or in a private /tmp directory when that
// path would exceed the unix socket path limit.
Result<ConsoleSocket> make_console_socket(const std::string& state_dir);

}  // namespace berth::shim
