// `berth start`, `stop`, `restart`, `kill`, `wait`, `attach`: the docker CLI
// 28's requests, output and exit codes. The attached session (start -a,
// attach) is run.cc's, shared through attach.h.
#include <unistd.h>

#include <optional>

#include "cli/attach.h"
#include "cli/commands.h"
#include "cli/terminal.h"

namespace berth::cli {

namespace {

constexpr CommandSpec kStart{"start", "start [OPTIONS] CONTAINER [CONTAINER...]",
                             "Start one or more stopped containers"};
constexpr CommandSpec kStop{"stop", "stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers"};
constexpr CommandSpec kRestart{"restart", "restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers"};
constexpr CommandSpec kKill{"kill", "kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers"};
constexpr CommandSpec kWait{"wait", "wait CONTAINER [CONTAINER...]",
                            "Block until one or more containers stop, then print their exit codes"};
constexpr CommandSpec kAttach{"attach", "attach [OPTIONS] CONTAINER",
                              "Attach local standard input, output, and error streams to a running container"};

std::string path_of(const std::string& name) { return "/containers/" + client::path_escape(name); }

// The detach sequence of --detach-keys (docker's default when unset).
Result<std::string> detach_keys(const FlagSet& f) {
  if (!f.changed("detach-keys") || f.get_string("detach-keys").empty()) return std::string(kDefaultDetachKeys);
  auto k = parse_detach_keys(f.get_string("detach-keys"));
  if (!k) return make_error(Errc::invalid, "Invalid detach keys (" + f.get_string("detach-keys") + ") provided");
  return k;
}

// stop / restart: -t/--timeout (and the deprecated --time), -s/--signal.
void add_stop_flags(FlagSet& f) {
  f.add_string("signal", 's', "", "Signal to send to the container");
  f.add_int("timeout", 't', 0, "Seconds to wait before killing the container");
  f.add_int("time", 0, 0, "Seconds to wait before killing the container (deprecated: use --timeout)");
  f.hide("time");
}

Result<api::Query> stop_query(Context& ctx, const FlagSet& f) {
  api::Query q;
  if (f.changed("time")) {
    // pflag's deprecation notice goes to the command's output (stdout).
    ctx.out << "Flag --time has been deprecated, use --timeout instead\n";
    ctx.out.flush();
  }
  if (f.changed("time") && f.changed("timeout"))
    return make_error(Errc::invalid, "conflicting options: cannot specify both --timeout and --time");
  if (f.changed("timeout")) q.emplace_back("t", std::to_string(f.get_int("timeout")));
  if (f.changed("time")) q.emplace_back("t", std::to_string(f.get_int("time")));
  if (!f.get_string("signal").empty()) {
    // The stop signal in the request is API 1.42; with an older daemon the
    // docker CLI drops it silently. Refused here so that -s never does
    // something other than it says.
    auto api = BERTH_TRY(ctx.api());
    auto v = BERTH_TRY(api->version());
    if (v < api::ApiVersion{1, 42})
      return make_error(Errc::invalid, "\"--signal\" requires API version 1.42, but the " + ctx.prog +
                                           " daemon API version is " + v.str());
    q.emplace_back("signal", f.get_string("signal"));
  }
  return q;
}

// GET /containers/{name}/json, the fields start -a and attach look at.
struct Inspected {
  std::string id;
  bool tty = false, open_stdin = false, auto_remove = false;
  bool running = false, paused = false, restarting = false;
};
Result<Inspected> inspect(Context& ctx, const std::string& name) {
  Json j = BERTH_TRY(ctx.call_json(client::Request::get(path_of(name) + "/json")));
  Inspected r;
  r.id = j.value("Id", name);
  const Json& cfg = j.contains("Config") && j["Config"].is_object() ? j["Config"] : Json::object();
  r.tty = cfg.value("Tty", false);
  r.open_stdin = cfg.value("OpenStdin", false);
  if (j.contains("HostConfig") && j["HostConfig"].is_object()) r.auto_remove = j["HostConfig"].value("AutoRemove", false);
  if (j.contains("State") && j["State"].is_object()) {
    r.running = j["State"].value("Running", false);
    r.paused = j["State"].value("Paused", false);
    r.restarting = j["State"].value("Restarting", false);
  }
  return r;
}

// docker start -a: inspect, attach, wait (next-exit, or removed with
// --rm), start, stream; the exit code is the container's.
int start_attached(Context& ctx, const FlagSet& f, const std::string& name) {
  auto keys = detach_keys(f);
  if (!keys) return ctx.fail("Error response from daemon: " + keys.error().msg);
  auto info = inspect(ctx, name);
  if (!info) return ctx.fail(info.error().msg);
  client::Client& c = **ctx.api();
  const bool send_stdin = f.get_bool("interactive") && info->open_stdin;
  // docker's CheckTty looks at -i, whatever the container's OpenStdin.
  if (f.get_bool("interactive") && info->tty && !::isatty(ctx.in_fd)) return ctx.fail("the input device is not a TTY");
  const std::string path = path_of(info->id);
  api::Query aq = {{"stream", "1"}};
  if (send_stdin) aq.emplace_back("stdin", "1");
  aq.emplace_back("stdout", "1");
  aq.emplace_back("stderr", "1");
  if (f.changed("detach-keys")) aq.emplace_back("detachKeys", f.get_string("detach-keys"));
  auto pending_attach = c.send_hijack(client::Request::post(path + "/attach", aq));
  if (!pending_attach) return ctx.fail(pending_attach.error().msg);
  auto pending_wait = c.send_stream(
      client::Request::post(path + "/wait", {{"condition", info->auto_remove ? "removed" : "next-exit"}}));
  if (!pending_wait) return ctx.fail(pending_wait.error().msg);
  auto hj = pending_attach->finish();
  if (!hj) return ctx.fail(hj.error().msg);
  auto wait = pending_wait->finish();
  if (!wait) return ctx.fail(wait.error().msg);

  const bool out_tty = info->tty && ::isatty(ctx.out.fd());
  // docker start -a forwards signals whenever the container has no TTY.
  SignalWatch signals(proxied_signals(!info->tty, out_tty));
  auto started = c.request(client::Request::post(path + "/start"));
  if (!started) {
    if (info->auto_remove) (void)wait_status(*wait);
    return ctx.fail(started.error().msg);
  }
  std::optional<RawTerminal> raw;
  if (info->tty && send_stdin) raw.emplace(ctx.in_fd);
  if (out_tty) resize_container(c, info->id, ctx.out.fd());
  AttachIo io;
  io.id = info->id;
  io.tty = info->tty;
  io.send_stdin = send_stdin;
  io.detach_keys = *keys;
  auto pumped = pump_attached(ctx, c, *hj, signals, io);
  raw.reset();
  if (!pumped) return ctx.fail(pumped.error().msg);
  if (*pumped) return 0;  // detached: docker start -a returns nil
  auto code = wait_status(*wait);
  if (!code) return ctx.fail(code.error().msg);
  return *code;
}

// The state checks docker attach makes before (and again after) attaching.
std::optional<std::string> attach_refusal(const Inspected& i) {
  if (!i.running) return "You cannot attach to a stopped container, start it first";
  if (i.paused) return "You cannot attach to a paused container, unpause it first";
  if (i.restarting) return "You cannot attach to a restarting container, wait until it is running";
  return std::nullopt;
}

}  // namespace

int cmd_start(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_bool("attach", 'a', "Attach STDOUT/STDERR and forward signals");
  f.add_string("checkpoint", 0, "", "Restore from this checkpoint");
  f.add_string("checkpoint-dir", 0, "", "Use a custom checkpoint storage directory");
  f.add_string("detach-keys", 0, "", "Override the key sequence for detaching a container");
  f.add_bool("interactive", 'i', "Attach container's STDIN");
  if (auto rc = parse_flags(ctx, kStart, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kStart, "at least", 1);
  // As dockerd without experimental features: no checkpoints.
  if (f.changed("checkpoint"))
    return ctx.fail("\"--checkpoint\" is only supported on a Docker daemon with experimental features enabled");
  if (f.changed("checkpoint-dir"))
    return ctx.fail("\"--checkpoint-dir\" is only supported on a Docker daemon with experimental features enabled");
  const bool attach = f.get_bool("attach") || f.get_bool("interactive");
  if (attach) {
    if (f.args().size() > 1) return ctx.fail("you cannot start and attach multiple containers at once");
    return start_attached(ctx, f, f.args()[0]);
  }
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  std::string failed;
  for (const auto& n : f.args()) {
    auto r = (*api)->request(client::Request::post(path_of(n) + "/start"));
    if (!r) {
      if (r.error().kind == Errc::unavailable) return ctx.fail(r.error().msg);
      ctx.out.flush();
      ctx.err << r.error().msg << "\n";
      ctx.err.flush();
      failed += (failed.empty() ? "" : ", ") + n;
      continue;
    }
    ctx.out << n << "\n";
    ctx.out.flush();
  }
  return failed.empty() ? 0 : ctx.fail("Error: failed to start containers: " + failed);
}

namespace {
// stop and restart: the same flags, query and per-container loop.
int stop_or_restart(Context& ctx, const Args& args, const CommandSpec& spec, const char* action) {
  FlagSet f;
  add_stop_flags(f);
  if (auto rc = parse_flags(ctx, spec, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(spec, "at least", 1);
  auto q = stop_query(ctx, f);
  if (!q) return ctx.fail(q.error().msg);
  return for_each(ctx, f.args(), action, *q);
}
}  // namespace

int cmd_stop(Context& ctx, const Args& args) { return stop_or_restart(ctx, args, kStop, "stop"); }

int cmd_restart(Context& ctx, const Args& args) { return stop_or_restart(ctx, args, kRestart, "restart"); }

int cmd_kill(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_string("signal", 's', "", "Signal to send to the container");
  if (auto rc = parse_flags(ctx, kKill, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kKill, "at least", 1);
  api::Query q;
  if (!f.get_string("signal").empty()) q.emplace_back("signal", f.get_string("signal"));
  return for_each(ctx, f.args(), "kill", q);
}

int cmd_wait(Context& ctx, const Args& args) {
  FlagSet f;
  if (auto rc = parse_flags(ctx, kWait, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kWait, "at least", 1);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  std::string errs;
  for (const auto& n : f.args()) {
    auto s = (*api)->stream(client::Request::post(path_of(n) + "/wait"));
    Result<int> code = s ? wait_status(*s) : Result<int>(std::move(s).error());
    if (!code) {
      if (code.error().kind == Errc::unavailable) return ctx.fail(code.error().msg);
      errs += (errs.empty() ? "" : "\n") + code.error().msg;
      continue;
    }
    ctx.out << std::to_string(*code) << "\n";
    ctx.out.flush();
  }
  return errs.empty() ? 0 : ctx.fail(errs);
}

int cmd_attach(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_string("detach-keys", 0, "", "Override the key sequence for detaching a container");
  f.add_bool("no-stdin", 0, "Do not attach STDIN");
  f.add_bool("sig-proxy", 0, "Proxy all received signals to the process", /*def=*/true);
  if (auto rc = parse_flags(ctx, kAttach, f, args)) return *rc;
  if (f.args().size() != 1) return ctx.args_error(kAttach, "exactly", 1);
  const std::string& name = f.args()[0];
  auto info = inspect(ctx, name);
  if (!info) return ctx.fail(info.error().msg);
  if (auto why = attach_refusal(*info)) return ctx.fail(*why);
  const bool send_stdin = !f.get_bool("no-stdin") && info->open_stdin;
  if (!f.get_bool("no-stdin") && info->tty && !::isatty(ctx.in_fd)) return ctx.fail("the input device is not a TTY");
  auto keys = detach_keys(f);
  if (!keys) return ctx.fail("Error response from daemon: " + keys.error().msg);
  client::Client& c = **ctx.api();
  const std::string path = path_of(info->id);
  auto pending_wait = c.send_stream(client::Request::post(path + "/wait"));
  if (!pending_wait) return ctx.fail(pending_wait.error().msg);
  auto wait = pending_wait->finish();
  if (!wait) return ctx.fail(wait.error().msg);
  const bool out_tty = info->tty && ::isatty(ctx.out.fd());
  SignalWatch signals(proxied_signals(f.get_bool("sig-proxy") && !info->tty, out_tty));
  api::Query aq = {{"stream", "1"}};
  if (send_stdin) aq.emplace_back("stdin", "1");
  aq.emplace_back("stdout", "1");
  aq.emplace_back("stderr", "1");
  if (f.changed("detach-keys")) aq.emplace_back("detachKeys", f.get_string("detach-keys"));
  auto hj = c.hijack(client::Request::post(path + "/attach", aq));
  if (!hj) return ctx.fail(hj.error().msg);
  // Checked again now that the attach is in place: a container that
  // stopped in between would otherwise leave the attach waiting.
  auto again = inspect(ctx, info->id);
  if (!again) return ctx.fail(again.error().msg);
  if (auto why = attach_refusal(*again)) return ctx.fail(*why);
  std::optional<RawTerminal> raw;
  if (info->tty && send_stdin) raw.emplace(ctx.in_fd);
  if (out_tty) resize_container(c, info->id, ctx.out.fd());
  AttachIo io;
  io.id = info->id;
  io.tty = info->tty;
  io.send_stdin = send_stdin;
  io.detach_keys = *keys;
  auto pumped = pump_attached(ctx, c, *hj, signals, io);
  raw.reset();
  if (!pumped) return ctx.fail(pumped.error().msg);
  // docker attach reports the detach as the stream's error.
  if (*pumped) return ctx.fail("read escape sequence");
  auto code = wait_status(*wait);
  if (!code) return ctx.fail(code.error().msg);
  return *code;
}

}  // namespace berth::cli
