// berth-shim command line (docs/shim-protocol.md, "Starting a shim").
#pragma once

#include <string>

#include "common/result.h"

namespace berth::shim {

enum class LogDriverKind { json_file, none };

struct Options {
  std::string id;
  std::string bundle;
  std::string runtime;
  std::string runtime_root;
  std::string socket;
  std::string state_dir;
  LogDriverKind log_driver = LogDriverKind::json_file;
  std::string log_path;
  // --log-config FILE: the driver and its options as berthd rendered them
  // (logging::DriverConfig JSON); overrides --log-driver/--log-path.
  std::string log_config;
  bool tty = false;
  bool stdin_open = false;  // --stdin
  bool stdin_once = false;  // --stdin-once
  // --exec-process FILE: exec mode. Instead of creating the container, run
  // `RUNTIME exec -d --process FILE` in the existing container ID; output
  // is held until the first `start` request (sent once berthd attached).
  std::string exec_process;
  // --run: start the container at once (`RUNTIME run --detach` instead of
  // `create`), one runtime exec fewer on the start path. Its output and
  // its exit are held, as in exec mode, until the first `start` request
  // (berthd connects attach clients first), so nothing is lost.
  bool run_now = false;
  // --runtime-fd N: an inherited sealed memfd copy of berth-runtime
  // (common/sealed_copy.h) that berthd made once for all its shims; the
  // shim executes `create`/`run`/`exec` from it instead of copying the
  // runtime itself. Ignored (the shim copies) unless it carries the seals.
  int runtime_fd = -1;
  // --report-fd N: the spawner (berthd) made this process a session leader
  // (POSIX_SPAWN_SETSID) and reads the verdict ("ok" / "E<msg>\n") from
  // fd N: the process it started is the monitor itself, no daemonizing
  // fork. Without it the shim forks and its first process reports.
  int report_fd = -1;
};

// Parses argv (argv[0] is skipped). Accepts "--flag value" and "--flag=value".
// Paths are made absolute (the shim chdirs to / when it daemonizes).
Result<Options> parse_options(int argc, const char* const* argv);
const char* usage();

}  // namespace berth::shim
