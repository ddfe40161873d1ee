// /containers/{id}/exec and /exec/{id}/... routes.
#include "api/detach_keys.h"
#include "common/base64.h"
#include "common/fs.h"
#include "common/strings.h"
#include "daemon/routes.h"
#include "logging/json_file.h"

namespace berth::daemon {

namespace {

// An exec body's DetachKeys as bytes, ctrl-p ctrl-q when unset; dockerd's
// text for a spec it cannot read.
Result<std::string> detach_keys_of(const Json& body) {
  std::string spec;
  if (auto it = body.find("DetachKeys"); it != body.end() && it->is_string()) spec = it->get<std::string>();
  if (spec.empty()) return std::string(api::kDefaultDetachKeys);
  auto keys = api::parse_detach_keys(spec);
  if (!keys) return make_error(Errc::invalid, "Invalid escape keys (" + spec + ") provided");
  return keys;
}

}  // namespace

void add_exec_routes(Router& r, Backends& b) {
  auto& cs = b.containers;

  r.add("POST", "/containers/{id}/exec", [&cs](Request& req, Response& res) -> Status {
    Json body = BERTH_TRY(req.json_body());
    if (auto keys = detach_keys_of(body); !keys) return std::move(keys).error();
    std::string id = BERTH_TRY(cs.exec_create(req.param("id"), body));
    return res.json(201, Json{{"Id", id}});
  });

  r.add("GET", "/exec/{id}/json", [&cs](Request& req, Response& res) -> Status {
    Json j = BERTH_TRY(cs.exec_inspect(req.param("id")));
    // dockerd's []byte: base64 of the key bytes, "" when unset.
    if (auto it = j.find("DetachKeys"); it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
      auto keys = api::parse_detach_keys(it->get<std::string>());
      *it = keys ? str::base64_encode(*keys) : std::string();
    }
    return res.json(200, j);
  });

  r.add("POST", "/exec/{id}/resize", [&cs](Request& req, Response& res) -> Status {
    auto h = str::parse_int(req.q("h").value_or("0"));
    auto w = str::parse_int(req.q("w").value_or("0"));
    if (!h || !w) return make_error(Errc::invalid, "invalid resize parameters");
    BERTH_TRY_VOID(cs.exec_resize(req.param("id"), static_cast<int>(*h), static_cast<int>(*w)));
    return res.send(200, "", "text/plain; charset=utf-8");
  });

  r.add("POST", "/exec/{id}/start", [&cs](Request& req, Response& res) -> Status {
    Json body = BERTH_TRY(req.json_body());
    bool detach = body.is_object() && body.value("Detach", false);
    auto s = BERTH_TRY(cs.exec_start(req.param("id"), detach));
    if (detach) {
      if (!s->error.empty()) return make_error(Errc::internal, s->error);
      return res.send(200, "", "text/plain; charset=utf-8");
    }
    const std::string* up = req.head.header("Upgrade");
    bool upgrade = up && str::to_lower(*up).find("tcp") != std::string::npos;
    if (!res.hijack(upgrade, "application/vnd.docker.raw-stream")) return ok();
    int client = req.conn->fd();
    std::string pending_stdin = req.conn->take_buffered();
    if (!s->error.empty()) {
      // As dockerd: the failure goes into the stream; ExitCode tells the CLI.
      std::string text = s->error + "\r\n";
      std::string out;
      if (s->tty)
        out = text;
      else
        logging::append_stdcopy_frame(out, logging::Stream::out, text);
      (void)fs::write_all(client, out);
      return ok();
    }
    if (s->attach) {
      if (!s->leftover.empty() && !fs::write_all(client, s->leftover)) return ok();
      // As dockerd, only a TTY's stdin is watched for the detach keys; the
      // process keeps running (moby's exec_detach event).
      std::string keys = s->tty ? detach_keys_of(Json{{"DetachKeys", s->detach_keys}}).value_or("") : "";
      if (relay_attach(client, s->attach.get(), s->stdin_, std::move(pending_stdin),
                       [&] { (void)s->done->notice.wait_for(10000); }, keys)) {
        cs.emit(s->container_id, "exec_detach", {{"execID", s->exec_id}});
        return ok();
      }
    }
    // The CLI reads ExitCode as soon as the stream ends: record it first.
    (void)s->done->notice.wait_for(10000);
    return ok();
  });
}

}  // namespace berth::daemon
