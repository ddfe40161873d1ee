// berthd's side of docs/shim-protocol.md: spawning berth-shim and talking
// to its control socket (one JSON line each way per connection).
#pragma once

#include <signal.h>

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

// The fd number the shim's report pipe gets (`--report-fd`): after the
// runtime copy's 3 when there is one.
inline int shim_report_fd(const ShimSpawnOptions& o) { return o.runtime_fd >= 0 ? 4 : 3; }

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

// Holds pidfds of berthd's spawned shims (berthd is their parent: no
// daemonizing fork) and reaps each one once it has exited, so that no
// `berth-shim` zombie is left. Only the adopted pids are waited for
// (waitid P_PIDFD), never any other child. fd() is an epoll fd that polls
// readable while an adopted shim has exited and is not yet reaped; the
// owner watches it and calls reap().
class ShimReaper {
 public:
  static Result<std::unique_ptr<ShimReaper>> create();
  int fd() const { return epoll_.get(); }
  // Takes a pidfd of a child of this process.
  Status adopt(UniqueFd pidfd);
  // Reaps every adopted child that has exited; returns how many.
  size_t reap();
  // How many adopted children are not reaped yet.
  size_t pending();
  // The signals to reset to SIG_DFL in a spawned shim: those this process
  // ignored when the reaper was made (SIGPIPE; SIGINT and SIGQUIT too when
  // a shell started berthd in the background), as ignored ones survive
  // exec. Handled ones are reset by the exec itself.
  const sigset_t& ignored_signals() const { return ignored_; }

 private:
  ShimReaper() = default;
  sigset_t ignored_{};
  UniqueFd epoll_;
  std::mutex mu_;
  std::map<int, UniqueFd> pidfds_;  // fd number → pidfd
};

// Spawns the shim as the monitor itself (docs/shim-protocol.md, "Starting
// a shim": POSIX_SPAWN_SETSID, `--report-fd`) and reads its verdict. On
// success, returns a pidfd of the shim (invalid if it could not be opened)
// and hands a duplicate to `reaper`: after answering `wait` the shim still
// runs the runtime's `delete`, and a new shim for the same container must
// not start before that ends. On failure the shim has been reaped and the
// Error's msg is its message (the runtime's).
Result<UniqueFd> spawn_shim(const ShimSpawnOptions& o, ShimReaper& reaper);

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
