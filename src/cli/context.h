// What every berth command gets: the output streams, the lazily created
// API client, and the helpers that print docker's usage and error shapes.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/flags.h"
#include "client/client.h"
#include "common/result.h"

namespace berth::cli {

// Buffered writer on a file descriptor (no stdio: flushes explicitly).
class Output {
 public:
  explicit Output(int fd) : fd_(fd) {}
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  ~Output() { flush(); }
  void write(std::string_view s) {
    buf_.append(s);
    if (buf_.size() >= 64 * 1024) flush();
  }
  Output& operator<<(std::string_view s) {
    write(s);
    return *this;
  }
  void flush();
  int fd() const { return fd_; }

 private:
  int fd_;
  std::string buf_;
};

// A command's static description.
struct CommandSpec {
  std::string_view name;
  std::string_view usage;  // after "berth ": "ps [OPTIONS]"
  std::string_view short_help;
  std::string_view long_help = {};  // help's description when docker has a Long text
};

struct Context {
  Output out{1};
  Output err{2};
  int in_fd = 0;
  std::string prog = "berth";
  std::string host;  // resolved -H / BERTH_HOST / default
  // The command path as typed when it was a management spelling
  // ("container ls" for ps); help's Usage line shows it, as docker does.
  std::string invoked;
  bool debug = false;
  // Environment lookup (tests inject one); nullptr means getenv.
  std::function<std::optional<std::string>(const std::string&)> getenv;

  // The client is created on first use (commands that fail on flags never
  // connect).
  Result<client::Client*> api();
  // One request whose answer is JSON: connect, send, parse (any failure
  // is the error to print).
  Result<Json> call_json(const client::Request& req);

  std::optional<std::string> env(const std::string& name) const;

  // "Usage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information"
  // after a flag error, exit 125.
  int flag_error(const CommandSpec& spec, const Error& e);
  // docker's argument count errors, exit 1. kind: "at least", "at most",
  // "exactly", "none".
  int args_error(const CommandSpec& spec, std::string_view kind, int n);
  // Prints the command's --help to stdout, exit 0.
  int help(const CommandSpec& spec, const FlagSet& flags);
  // Prints an error message as is on stderr, exit `code`.
  int fail(std::string_view msg, int code = 1);

 private:
  std::optional<client::Client> client_;
};

// Parses flags for a command and handles --help and flag errors. Returns
// the exit code to return immediately, or nullopt to continue.
std::optional<int> parse_flags(Context& ctx, const CommandSpec& spec, FlagSet& flags,
                               const std::vector<std::string>& args);

int64_t now_unix_nano();

}  // namespace berth::cli
