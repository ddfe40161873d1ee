// berthd's direct calls of a container's OCI runtime for the operations
// that need no monitor: pause, resume, update, ps (runc's command line:
// RUNTIME --root ROOT COMMAND ARGS... ID).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace berth::container {

struct RuntimeRun {
  int status = 0;      // exit status (-1 if killed)
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs argv[0] (a path) with ARGS, stdin from `input`; waits at most
// timeout_ms (then SIGKILL).
Result<RuntimeRun> run_command(const std::vector<std::string>& argv, const std::string& input = "",
                               int timeout_ms = 30000);

// Runs RUNTIME --root ROOT ARGS... with stdin from `input` (may be empty),
// waits at most timeout_ms (then SIGKILL). Errc::internal on spawn failure.
Result<RuntimeRun> run_runtime(const std::string& runtime, const std::string& root,
                               const std::vector<std::string>& args, const std::string& input = "",
                               int timeout_ms = 30000);

// run_runtime that fails unless the exit status is 0; the error message is
// the runtime's own (its last stderr line, with runc's "level=error msg=" or
// JSON log wrapping removed).
Result<std::string> run_runtime_checked(const std::string& runtime, const std::string& root,
                                        const std::vector<std::string>& args,
                                        const std::string& input = "");

// The human message in a runtime's stderr (pure; tested).
std::string runtime_error_message(const std::string& stderr_text);

}  // namespace berth::container
