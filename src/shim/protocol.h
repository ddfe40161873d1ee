// Control-socket requests (docs/shim-protocol.md, "Control socket").
#pragma once

#include <string>
#include <string_view>

#include "common/json.h"
#include "common/result.h"

namespace berth::shim {

enum class Op { start, state, wait, kill, resize, attach, shutdown };

struct Request {
  Op op = Op::state;
  int signal = 0;  // kill
  bool all = false;
  int height = 0;  // resize
  int width = 0;
  bool attach_stdin = false;
  bool attach_stdout = false;
  bool attach_stderr = false;
};

// Parses one request line (without the trailing '\n').
Result<Request> parse_request(std::string_view line);

// One-line answers (each ends with '\n').
std::string reply_ok(Json fields = Json::object());
std::string reply_error(std::string_view message);

}  // namespace berth::shim
