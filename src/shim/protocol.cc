#include "shim/protocol.h"

namespace berth::shim {

namespace {

Result<bool> get_bool(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean()) return make_error(Errc::invalid, std::string("\"") + key + "\" must be a boolean");
  return it->get<bool>();
}

Result<int> get_int(const Json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return make_error(Errc::invalid, std::string("\"") + key + "\" is required");
    return 0;
  }
  if (!it->is_number_integer())
    return make_error(Errc::invalid, std::string("\"") + key + "\" must be an integer");
  auto v = it->get<int64_t>();
  if (v < 0 || v > 65535) return make_error(Errc::invalid, std::string("\"") + key + "\" out of range");
  return static_cast<int>(v);
}

}  // namespace

Result<Request> parse_request(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  auto parsed = parse_json(line);
  if (!parsed) return make_error(Errc::invalid, "request is not valid JSON");
  const Json& j = *parsed;
  if (!j.is_object()) return make_error(Errc::invalid, "request must be a JSON object");
  auto op_it = j.find("op");
  if (op_it == j.end() || !op_it->is_string()) return make_error(Errc::invalid, "request has no \"op\"");
  const std::string op = op_it->get<std::string>();
  Request r;
  if (op == "start") {
    r.op = Op::start;
  } else if (op == "state") {
    r.op = Op::state;
  } else if (op == "wait") {
    r.op = Op::wait;
  } else if (op == "kill") {
    r.op = Op::kill;
    r.signal = BERTH_TRY(get_int(j, "signal", true));
    if (r.signal < 1 || r.signal > 64) return make_error(Errc::invalid, "invalid signal " + std::to_string(r.signal));
    r.all = BERTH_TRY(get_bool(j, "all"));
  } else if (op == "resize") {
    r.op = Op::resize;
    r.height = BERTH_TRY(get_int(j, "height", true));
    r.width = BERTH_TRY(get_int(j, "width", true));
  } else if (op == "attach") {
    r.op = Op::attach;
    r.attach_stdin = BERTH_TRY(get_bool(j, "stdin"));
    r.attach_stdout = BERTH_TRY(get_bool(j, "stdout"));
    r.attach_stderr = BERTH_TRY(get_bool(j, "stderr"));
  } else if (op == "shutdown") {
    r.op = Op::shutdown;
  } else {
    return make_error(Errc::invalid, "unknown op \"" + op + "\"");
  }
  return r;
}

std::string reply_ok(Json fields) {
  Json j = Json::object();
  j["ok"] = true;
  for (auto& [k, v] : fields.items()) j[k] = v;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string reply_error(std::string_view message) {
  Json j = Json::object();
  j["ok"] = false;
  j["error"] = std::string(message);
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace berth::shim
