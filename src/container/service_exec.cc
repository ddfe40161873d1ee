// exec: an extra process in a running container, monitored by its own
// berth-shim in exec mode (docs/shim-protocol.md), so its output and exit
// code survive without berthd blocking on it.
#include <signal.h>

#include "common/fs.h"
#include "common/id.h"
#include "common/strings.h"
#include "container/host_devices.h"
#include "container/overlay.h"
#include "container/service.h"
#include "container/shim_client.h"
#include "container/user.h"

namespace berth::container {

namespace {

std::vector<std::string> strings(const Json& j) {
  std::vector<std::string> out;
  if (j.is_string()) out.push_back(j.get<std::string>());
  if (j.is_array())
    for (const auto& e : j)
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

Error no_such_exec(std::string_view id) {
  return make_error(Errc::not_found, "No such exec instance: " + std::string(id));
}

}  // namespace

Result<std::string> ContainerService::exec_create(std::string_view ref, const Json& body) {
  if (!body.is_object()) return make_error(Errc::invalid, "No exec command specified");
  for (const char* k : {"AttachStdin", "AttachStdout", "AttachStderr", "Tty", "Privileged", "Detach"})
    if (auto it = body.find(k); it != body.end() && !it->is_null() && !it->is_boolean())
      return make_error(Errc::invalid, std::string("json: cannot unmarshal into Go struct field ExecConfig.") + k + " of type bool");
  auto cmd = strings(body.value("Cmd", Json()));
  if (cmd.empty()) return make_error(Errc::invalid, "No exec command specified");
  EntryPtr e = BERTH_TRY(find(ref));
  std::lock_guard g(mu_);
  const std::string& cid = e->rec.id;
  if (e->rec.state.status == StateStatus::paused)
    return make_error(Errc::conflict, "Container " + cid + " is paused, unpause the container before exec");
  if (e->rec.state.status == StateStatus::restarting)
    return make_error(Errc::conflict, "Container " + cid + " is restarting, wait until the container is running");
  if (e->rec.state.status != StateStatus::running || !e->shim_up)
    return make_error(Errc::conflict, "Container " + cid + " is not running");
  auto x = std::make_shared<Exec>();
  x->id = random_hex_id();
  x->container_id = cid;
  x->config = body;
  x->config["Cmd"] = cmd;
  execs_[x->id] = x;
  std::string line;
  for (const auto& a : cmd) line += (line.empty() ? "" : " ") + a;
  auto attrs = event_attrs(e->rec);
  attrs["execID"] = x->id;
  publish(cid, "exec_create: " + line, std::move(attrs));
  return x->id;
}

Result<std::shared_ptr<ExecSession>> ContainerService::exec_start(std::string_view exec_id, bool detach) {
  std::shared_ptr<Exec> x;
  EntryPtr e;
  Record rec;
  {
    std::lock_guard g(mu_);
    auto it = execs_.find(std::string(exec_id));
    if (it == execs_.end()) return no_such_exec(exec_id);
    x = it->second;
    if (x->running) return make_error(Errc::conflict, "Error: Exec command " + x->id + " is already running");
    if (x->started) return make_error(Errc::conflict, "Error: Exec command " + x->id + " has already run");
    auto ce = by_id_.find(x->container_id);
    if (ce == by_id_.end()) return make_error(Errc::not_found, "No such container: " + x->container_id);
    e = ce->second;
    if (e->rec.state.status == StateStatus::paused)
      return make_error(Errc::conflict, "Container " + x->container_id + " is paused, unpause the container before exec");
    if (e->rec.state.status != StateStatus::running || !e->shim_up)
      return make_error(Errc::conflict, "Container " + x->container_id + " is not running");
    x->started = true;
    rec = e->rec;
    std::string line;
    for (const auto& a : x->config["Cmd"]) line += (line.empty() ? "" : " ") + a.get<std::string>();
    auto attrs = event_attrs(e->rec);
    attrs["execID"] = x->id;
    publish(rec.id, "exec_start: " + line, std::move(attrs));
  }
  const Json& c = x->config;
  auto session = std::make_shared<ExecSession>();
  session->exec_id = x->id;
  session->container_id = x->container_id;
  session->detach_keys = c.value("DetachKeys", std::string());
  session->tty = c.value("Tty", false);
  session->stdin_ = c.value("AttachStdin", false);
  session->done = std::make_shared<Waiter>();
  {
    std::lock_guard g(mu_);
    x->waiters.push_back(session->done);
  }
  auto fail = [&](int code, std::string msg) -> Result<std::shared_ptr<ExecSession>> {
    {
      std::lock_guard g(mu_);
      x->running = false;
      x->exited = true;
      x->exit_code = code;
      for (auto& w : x->waiters) {
        w->result = {code, msg};
        w->notice.fire();
      }
      x->waiters.clear();
    }
    (void)fs::remove_all(exec_dir(x->id));
    ::unlink(exec_socket(x->id).c_str());
    session->error = std::move(msg);
    return session;
  };

  // The process: the container's, with the exec's overrides.
  std::string dir = opts_.paths.container_dir(rec.id);
  auto spec_text = fs::read_file(dir + "/config.json");
  if (!spec_text) return fail(126, "OCI runtime exec failed: " + spec_text.error().msg + ": unknown");
  auto spec = parse_json(*spec_text);
  if (!spec || !spec->contains("process")) return fail(126, "OCI runtime exec failed: invalid bundle: unknown");
  Json proc = (*spec)["process"];
  proc["args"] = c["Cmd"];
  proc["terminal"] = session->tty;
  proc.erase("consoleSize");
  std::vector<std::string> env = strings(proc.value("env", Json()));
  env = replace_or_append_env(std::move(env), strings(c.value("Env", Json())));
  if (session->tty) {
    bool has_term = false;
    for (const auto& v : env)
      if (str::starts_with(v, "TERM=")) has_term = true;
    if (!has_term) env.push_back("TERM=xterm");
  }
  proc["env"] = env;
  if (auto wd = c.value("WorkingDir", std::string()); !wd.empty()) proc["cwd"] = wd;
  std::string user = c.value("User", std::string());
  if (!user.empty()) {
    RootfsDirs rd = rootfs_dirs(opts_.paths.data_root, rec.id);
    std::vector<std::string> group_add;
    for (const auto& gname : strings(rec.host_config.value("GroupAdd", Json()))) group_add.push_back(gname);
    auto u = resolve_user_in_rootfs(rd.merged, user, group_add);
    if (!u) return fail(126, "OCI runtime exec failed: " + u.error().msg + ": unknown");
    Json ju{{"uid", u->uid}, {"gid", u->gid}};
    if (!u->additional_gids.empty()) ju["additionalGids"] = u->additional_gids;
    proc["user"] = ju;
    // HOME follows the exec's user unless the exec set it.
    bool own_home = false;
    for (const auto& v : strings(c.value("Env", Json())))
      if (str::starts_with(v, "HOME=")) own_home = true;
    if (!own_home) {
      auto ev = strings(proc["env"]);
      for (auto& v : ev)
        if (str::starts_with(v, "HOME=")) v = "HOME=" + u->home;
      proc["env"] = ev;
    }
  }
  if (c.value("Privileged", false)) {
    auto caps = host_bounding_caps();
    proc["capabilities"] = Json{{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  }
  std::string xdir = exec_dir(x->id);
  if (auto st = fs::mkdir_p(xdir, 0700); !st) return fail(126, st.error().msg);
  std::string pfile = xdir + "/process.json";
  if (auto st = fs::write_file_atomic(pfile, proc.dump(), fs::Durability::none); !st)
    return fail(126, st.error().msg);

  ShimSpawnOptions so;
  so.shim_binary = opts_.shim_binary;
  so.id = rec.id;
  so.bundle = dir;
  so.runtime = runtime_for(rec);
  so.runtime_root = opts_.paths.runtime_root();
  so.socket = exec_socket(x->id);
  so.state_dir = xdir;
  so.log_driver = "none";
  so.tty = session->tty;
  so.stdin_open = session->stdin_;
  so.stdin_once = session->stdin_ && !session->tty;
  so.exec_process = pfile;
  auto sealed_rt = sealed_runtimes_.get(so.runtime);
  if (sealed_rt) so.runtime_fd = sealed_rt->get();
  auto spawned = spawn_shim(so, *shim_reaper_);
  if (!spawned) {
    std::string msg = spawned.error().msg;
    int code = (msg.find("executable file not found") != std::string::npos ||
                msg.find("no such file or directory") != std::string::npos)
                   ? 127
                   : 126;
    return fail(code, "OCI runtime exec failed: " + msg + ": unknown");
  }
  const std::string sock = exec_socket(x->id);
  if (!detach) {
    auto ac = ShimConn::connect(sock);
    if (ac) {
      Json req{{"op", "attach"}, {"stdin", session->stdin_}, {"stdout", c.value("AttachStdout", true)},
               {"stderr", c.value("AttachStderr", true)}};
      if (ac->send(req)) {
        auto ans = ac->read_answer();
        if (ans && ans->value("ok", false)) {
          session->leftover = ac->leftover();
          session->attach = ac->release();
        }
      }
    }
  }
  auto wc = ShimConn::connect(sock);
  bool waiting = wc && wc->send(Json{{"op", "wait"}});
  auto started = shim_call(sock, Json{{"op", "start"}});
  {
    std::lock_guard g(mu_);
    x->running = true;
    if (started) x->pid = started->value("pid", 0);
  }
  if (waiting) {
    watch("exec:" + x->id, wc->release());
  } else {
    on_exec_exit(x->id, make_error(Errc::unavailable, "exec shim connection failed"));
  }
  return session;
}

void ContainerService::on_exec_exit(const std::string& exec_id, Result<Json> answer) {
  int code = 126;
  if (answer && answer->is_object() && answer->value("ok", false)) {
    code = answer->value("exit_code", 0);
  } else {
    auto text = fs::read_file(exec_dir(exec_id) + "/exit.json");
    Json j = text ? parse_json(*text).value_or(Json()) : Json();
    if (j.is_object()) code = j.value("exit_code", 126);
  }
  std::vector<std::shared_ptr<Waiter>> wake;
  {
    std::lock_guard g(mu_);
    auto it = execs_.find(exec_id);
    if (it != execs_.end()) {
      auto& x = *it->second;
      x.running = false;
      x.exited = true;
      x.exit_code = code;
      if (auto ce = by_id_.find(x.container_id); ce != by_id_.end()) {
        auto attrs = event_attrs(ce->second->rec);
        attrs["execID"] = exec_id;
        attrs["exitCode"] = std::to_string(code);
        publish(x.container_id, "exec_die", std::move(attrs));
      }
      for (auto& w : x.waiters) w->result = {code, ""};
      wake.swap(x.waiters);
    }
  }
  (void)fs::remove_all(exec_dir(exec_id));
  ::unlink(exec_socket(exec_id).c_str());
  for (auto& w : wake) w->notice.fire();
}

void ContainerService::forget_execs(const std::string& container_id) {
  std::lock_guard g(mu_);
  for (auto it = execs_.begin(); it != execs_.end();) {
    if (it->second->container_id == container_id && !it->second->running)
      it = execs_.erase(it);
    else
      ++it;
  }
}

Result<Json> ContainerService::exec_inspect(std::string_view exec_id) {
  std::lock_guard g(mu_);
  auto it = execs_.find(std::string(exec_id));
  if (it == execs_.end()) return no_such_exec(exec_id);
  const Exec& x = *it->second;
  const Json& c = x.config;
  auto cmd = strings(c["Cmd"]);
  Json args = Json::array();
  for (size_t i = 1; i < cmd.size(); ++i) args.push_back(cmd[i]);
  return Json{{"ID", x.id},
              {"Running", x.running},
              {"ExitCode", x.exited ? Json(x.exit_code) : Json(nullptr)},
              {"ProcessConfig", Json{{"tty", c.value("Tty", false)},
                                     {"entrypoint", cmd.empty() ? std::string() : cmd[0]},
                                     {"arguments", args},
                                     {"privileged", c.value("Privileged", false)},
                                     {"user", c.value("User", std::string())}}},
              {"OpenStdin", c.value("AttachStdin", false)},
              {"OpenStderr", c.value("AttachStderr", false)},
              {"OpenStdout", c.value("AttachStdout", false)},
              {"CanRemove", false},
              {"ContainerID", x.container_id},
              {"DetachKeys", c.value("DetachKeys", std::string())},
              {"Pid", x.pid}};
}

Status ContainerService::exec_resize(std::string_view exec_id, int height, int width) {
  {
    std::lock_guard g(mu_);
    auto it = execs_.find(std::string(exec_id));
    if (it == execs_.end()) return no_such_exec(exec_id);
    if (!it->second->running)
      return make_error(Errc::conflict, "Exec " + std::string(exec_id) + " is not running");
  }
  BERTH_TRY_VOID(shim_call(exec_socket(std::string(exec_id)),
                           Json{{"op", "resize"}, {"height", height}, {"width", width}}));
  return ok();
}

}  // namespace berth::container
