// berthd's side of docs/shim-protocol.md: spawning berth-shim and talking
// to its control socket (one JSON line each way per connection).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/json.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::container {

struct ShimSpawnOptions {
  std::string shim_binary;
  std::string id;
  std::string bundle;
  std::string runtime;
  std::string runtime_root;
  std::string socket;
  std::string state_dir;
  std::string log_driver = "json-file";
  std::string log_path;
  std::string log_config;  // logging::DriverConfig JSON file; replaces log_driver/log_path
  bool tty = false;
  bool stdin_open = false;
  bool stdin_once = false;
  std::string exec_process;  // exec mode (--exec-process)
  // --run: the shim creates and starts the container in one runtime exec
  // (`run --detach`) and holds its output and exit until `start`.
  bool run_now = false;
  // A sealed copy of the runtime (SealedRuntimeCache) the shim inherits as
  // fd 3 (`--runtime-fd 3`); -1: the shim makes its own.
  int runtime_fd = -1;
};

// berthd's sealed memfd copies of berth-runtime (common/sealed_copy.h), one
// per runtime path, made once and handed to every shim instead of each
// shim copying and sealing the ~2 MB runtime before its create. A copy is
// made again when the file changes (device, inode, size, mtime or ctime).
// Runtimes not named berth-runtime get none (runc, crun, scripts run from
// their path).
class SealedRuntimeCache {
 public:
  // The copy for `path` (shared: keep it while spawning), or null.
  std::shared_ptr<UniqueFd> get(const std::string& path);

 private:
  struct Copy {
    uint64_t dev = 0, ino = 0;
    int64_t size = 0, mtime_ns = 0, ctime_ns = 0;
    std::shared_ptr<UniqueFd> fd;
  };
  std::mutex mu_;
  std::map<std::string, Copy> copies_;
};

// argv for the shim (pure; tested).
std::vector<std::string> shim_argv(const ShimSpawnOptions& o);

// Runs the shim and waits for its first process to exit. On success,
// returns a pidfd of the long-lived shim (from STATE_DIR/shim.pid; invalid
// if it could not be opened): after answering `wait` the shim still runs the
// runtime's `delete`, and a new shim for the same container must not start
// before that ends. On failure the Error's msg is the shim's stderr line
// (the runtime's message).
Result<UniqueFd> spawn_shim(const ShimSpawnOptions& o);

// Blocks until the process behind `pidfd` has exited (at most timeout_ms);
// an invalid fd returns at once.
void wait_for_exit(const UniqueFd& pidfd, int timeout_ms);

// A connection to the shim's control socket.
class ShimConn {
 public:
  static Result<ShimConn> connect(const std::string& socket);
  // Sends one request line.
  Status send(const Json& req);
  // Reads one answer line (blocking). Bytes read past the line stay
  // buffered in leftover().
  Result<Json> read_answer();
  int fd() const { return fd_.get(); }
  UniqueFd release() { return std::move(fd_); }
  const std::string& leftover() const { return buf_; }

 private:
  explicit ShimConn(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  std::string buf_;
};

// One request → one answer; an answer with "ok":false becomes an Error
// carrying the shim's message.
Result<Json> shim_call(const std::string& socket, const Json& req);

}  // namespace berth::container
