// The shim's single-threaded event loop: container output → log driver and
// attach clients, client stdin → container, control requests, SIGCHLD.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "common/unique_fd.h"
#include "logging/json_file.h"
#include "shim/options.h"
#include "shim/protocol.h"
#include "shim/runtime_cli.h"

namespace berth::shim {

// What the bootstrap hands to the monitor once `create` succeeded.
struct MonitorFds {
  UniqueFd listen;   // control socket, listening, non-blocking
  UniqueFd sigfd;    // signalfd for SIGCHLD (SIGCHLD blocked)
  UniqueFd out;      // stdout pipe read end, or the pty master with --tty
  UniqueFd err;      // stderr pipe read end (invalid with --tty)
  UniqueFd in;       // stdin pipe write end, or a dup of the pty master; may be invalid
};

class Monitor {
 public:
  // Per-client output cap: a client that falls this far behind is dropped.
  static constexpr size_t kClientBufferCap = 1 << 20;
  // Stop reading client stdin while this much is queued for the container.
  static constexpr size_t kStdinHighWater = 256 * 1024;

  Monitor(const Options& opts, const RuntimeCli& runtime, logging::LogDriver* log, MonitorFds fds,
          pid_t init_pid);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Runs until the container has exited and everything is delivered.
  // Returns the shim's process exit status.
  int run();

 private:
  enum class Status_ { created, running, stopped };
  enum class Kind { request, attach, waiter };
  struct Buffer {
    std::string data;
    size_t off = 0;
    size_t size() const { return data.size() - off; }
    bool empty() const { return off == data.size(); }
    void consume(size_t n);
  };
  struct Client {
    UniqueFd fd;
    uint64_t token = 0;
    Kind kind = Kind::request;
    std::string line;  // request being read
    Buffer out;
    bool want_stdin = false, want_stdout = false, want_stderr = false;
    bool read_closed = false;       // peer half-closed (or we stopped reading)
    bool close_after_flush = false;
    uint32_t events = 0;
  };

  Status setup();
  void handle(uint64_t token, uint32_t events);
  void on_signal();
  void on_output(int which);  // 0 = out, 1 = err
  void on_stdin_writable();
  void accept_clients();
  void on_client(Client& c, uint32_t events);
  void dispatch(Client& c, const Request& r);
  void handle_kill(Client& c, const Request& r);
  void deliver(logging::Stream s, const char* data, size_t n);
  void queue(Client& c, std::string_view bytes);
  bool flush_client(Client& c);  // false if the client is gone
  void update_events(Client& c);
  void drop(uint64_t token);
  void close_stdin();
  void update_stdin_events();
  void begin_exit(int wait_status);
  void finish();
  void close_output(int which);
  std::string wait_reply() const;
  Json state_fields() const;

  const Options& opts_;
  const RuntimeCli& runtime_;
  logging::LogDriver* log_;
  MonitorFds fds_;
  UniqueFd epoll_;
  pid_t init_pid_;
  Status_ status_ = Status_::created;
  int exit_code_ = 0;
  int64_t exited_at_ns_ = 0;
  bool exiting_ = false;
  int64_t drain_deadline_ns_ = 0;
  bool done_ = false;
  std::unordered_map<uint64_t, std::unique_ptr<Client>> clients_;
  uint64_t next_token_ = 100;
  Buffer stdin_buf_;
  bool stdin_close_pending_ = false;
  bool stdin_paused_ = false;
  bool stdin_registered_out_ = false;
  std::unique_ptr<char[]> readbuf_;
  // When the log driver first got output it has not yet been asked to
  // flush (0: nothing pending). Entries are written once the driver's
  // buffer fills or kLogFlushDelayNs after this, whichever comes first, so
  // a busy container costs one write(2) per many reads and `logs -f` still
  // sees an idle container's line within a few ms.
  int64_t log_dirty_since_ns_ = 0;
  int64_t log_trim_at_ns_ = 0;  // when the driver's buffers go back if no output came since
  bool code_dropped_ = false;   // the startup code's pages left our RSS (first quiet trim)
  // Exec mode: output and the exit are held until the first `start`.
  bool gate_open_ = true;
  bool deferred_exit_ = false;
  int deferred_status_ = 0;
  Status open_gate();
  // OOM: the memory cgroup's oom_kill counter file, found when the
  // container starts and read when its init exits (before the runtime's
  // delete removes the cgroup), so OOMKilled never races the exit.
  std::string oom_file_;
  uint64_t oom_kills_at_start_ = 0;
  bool oom_killed_ = false;
  void locate_oom_counter();
};

}  // namespace berth::shim
