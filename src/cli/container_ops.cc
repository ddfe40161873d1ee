// `berth exec`, `pause`, `unpause`, `rename`, `top`, `port`, `update`,
// `stats`: the docker CLI's requests and output.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <thread>

#include "api/http_wire.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "cli/terminal.h"
#include "common/fs.h"
#include "common/unique_fd.h"
#include "common/strings.h"

namespace berth::cli {

namespace {

constexpr CommandSpec kExec{"exec", "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
                            "Execute a command in a running container"};
constexpr CommandSpec kPause{"pause", "pause CONTAINER [CONTAINER...]",
                             "Pause all processes within one or more containers"};
constexpr CommandSpec kUnpause{"unpause", "unpause CONTAINER [CONTAINER...]",
                               "Unpause all processes within one or more containers"};
constexpr CommandSpec kRename{"rename", "rename CONTAINER NEW_NAME", "Rename a container"};
constexpr CommandSpec kTop{"top", "top CONTAINER [ps OPTIONS]", "Display the running processes of a container"};
constexpr CommandSpec kPort{"port", "port CONTAINER [PRIVATE_PORT[/PROTO]]",
                            "List port mappings or a specific mapping for the container"};
constexpr CommandSpec kUpdate{"update", "update [OPTIONS] CONTAINER [CONTAINER...]",
                              "Update configuration of one or more containers"};
constexpr CommandSpec kStats{"stats", "stats [OPTIONS] [CONTAINER...]",
                             "Display a live stream of container(s) resource usage statistics"};

std::string path_of(const std::string& name) { return "/containers/" + client::path_escape(name); }

}  // namespace

// Runs the same request for each container; prints each name on success.
int for_each(Context& ctx, const std::vector<std::string>& names, const std::string& action, const api::Query& q) {
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  std::string errs;
  for (const auto& n : names) {
    auto r = (*api)->request(client::Request::post(path_of(n) + "/" + action, q));
    if (!r) {
      if (r.error().kind == Errc::unavailable) return ctx.fail(r.error().msg);
      errs += (errs.empty() ? "" : "\n") + r.error().msg;
      continue;
    }
    ctx.out << n << "\n";
  }
  ctx.out.flush();
  return errs.empty() ? 0 : ctx.fail(errs);
}

// go-units RAMInBytes: "64m", "1.5g", "512" (binary multiples).
Result<int64_t> parse_ram_in_bytes(std::string_view s) {
  std::string v(str::trim(s));
  size_t i = 0;
  while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) || v[i] == '.')) ++i;
  if (i == 0) return make_error(Errc::invalid, "invalid size: '" + std::string(s) + "'");
  double num = std::strtod(v.substr(0, i).c_str(), nullptr);
  std::string unit = str::to_lower(v.substr(i));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (unit.size() == 2 && unit[1] == 'i') unit.pop_back();
  double mul = 1;
  if (unit.empty()) mul = 1;
  else if (unit == "k") mul = 1024.0;
  else if (unit == "m") mul = 1024.0 * 1024;
  else if (unit == "g") mul = 1024.0 * 1024 * 1024;
  else if (unit == "t") mul = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "p") mul = 1024.0 * 1024 * 1024 * 1024 * 1024;
  else return make_error(Errc::invalid, "invalid size: '" + std::string(s) + "'");
  return static_cast<int64_t>(num * mul);
}

int cmd_pause(Context& ctx, const Args& args) {
  FlagSet f;
  if (auto rc = parse_flags(ctx, kPause, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kPause, "at least", 1);
  return for_each(ctx, f.args(), "pause");
}

int cmd_unpause(Context& ctx, const Args& args) {
  FlagSet f;
  if (auto rc = parse_flags(ctx, kUnpause, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kUnpause, "at least", 1);
  return for_each(ctx, f.args(), "unpause");
}

int cmd_rename(Context& ctx, const Args& args) {
  FlagSet f;
  if (auto rc = parse_flags(ctx, kRename, f, args)) return *rc;
  if (f.args().size() != 2) return ctx.args_error(kRename, "exactly", 2);
  std::string oldn(str::trim(f.args()[0])), newn(str::trim(f.args()[1]));
  if (oldn.empty() || newn.empty()) return ctx.fail("Error: Neither old nor new names may be empty");
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto r = (*api)->request(client::Request::post(path_of(oldn) + "/rename", {{"name", newn}}));
  if (!r) return ctx.fail(r.error().msg);
  return 0;
}

int cmd_top(Context& ctx, const Args& args) {
  FlagSet f(/*interspersed=*/false);
  if (auto rc = parse_flags(ctx, kTop, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kTop, "at least", 1);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  api::Query q;
  if (f.args().size() > 1) {
    std::string ps;
    for (size_t i = 1; i < f.args().size(); ++i) ps += (i > 1 ? " " : "") + f.args()[i];
    q.emplace_back("ps_args", ps);
  }
  auto r = (*api)->request(client::Request::get(path_of(f.args()[0]) + "/top", q));
  if (!r) return ctx.fail(r.error().msg);
  auto j = r->json();
  if (!j) return ctx.fail(j.error().msg);
  // docker: tabwriter(minwidth 20, padding 1)
  TabWriter tw(20, 1);
  std::vector<std::string> titles;
  for (const auto& t : (*j)["Titles"]) titles.push_back(t.get<std::string>());
  tw.row(titles);
  for (const auto& p : (*j)["Processes"]) {
    std::vector<std::string> row;
    for (const auto& c : p) row.push_back(c.get<std::string>());
    tw.row(row);
  }
  ctx.out << tw.str();
  return 0;
}

int cmd_port(Context& ctx, const Args& args) {
  FlagSet f;
  if (auto rc = parse_flags(ctx, kPort, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kPort, "at least", 1);
  if (f.args().size() > 2) return ctx.args_error(kPort, "at most", 2);
  auto j = ctx.call_json(client::Request::get(path_of(f.args()[0]) + "/json"));
  if (!j) return ctx.fail(j.error().msg);
  Json ports = (*j)["NetworkSettings"].value("Ports", Json::object());
  if (!ports.is_object()) ports = Json::object();
  std::vector<std::string> lines;
  if (f.args().size() == 2) {
    std::string want = f.args()[1];
    if (want.find('/') == std::string::npos) want += "/tcp";
    auto it = ports.find(want);
    if (it == ports.end() || !it->is_array() || it->empty())
      return ctx.fail("Error: No public port '" + want + "' published for " + f.args()[0]);
    for (const auto& b : *it)
      ctx.out << b.value("HostIp", std::string()) << ":" << b.value("HostPort", std::string()) << "\n";
    return 0;
  }
  for (const auto& [k, v] : ports.items()) {
    if (!v.is_array()) continue;
    for (const auto& b : v) {
      std::string ip = b.value("HostIp", std::string());
      if (ip.find(':') != std::string::npos) ip = "[" + ip + "]";
      ctx.out << k << " -> " << ip << ":" << b.value("HostPort", std::string()) << "\n";
    }
  }
  return 0;
}

int cmd_update(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_int("blkio-weight", 0, 0, "Block IO (relative weight), between 10 and 1000, or 0 to disable");
  f.add_int("cpu-period", 0, 0, "Limit CPU CFS (Completely Fair Scheduler) period");
  f.add_int("cpu-quota", 0, 0, "Limit CPU CFS (Completely Fair Scheduler) quota");
  f.add_string("cpus", 0, "", "Number of CPUs", "decimal");
  f.add_string("cpuset-cpus", 0, "", "CPUs in which to allow execution (0-3, 0,1)");
  f.add_string("cpuset-mems", 0, "", "MEMs in which to allow execution (0-3, 0,1)");
  f.add_int("cpu-shares", 'c', 0, "CPU shares (relative weight)");
  f.add_string("memory", 'm', "", "Memory limit", "bytes");
  f.add_string("memory-reservation", 0, "", "Memory soft limit", "bytes");
  f.add_string("memory-swap", 0, "", "Swap limit equal to memory plus swap: -1 to enable unlimited swap", "bytes");
  f.add_int("pids-limit", 0, 0, "Tune container pids limit (set -1 for unlimited)");
  f.add_string("restart", 0, "", "Restart policy to apply when a container exits");
  if (auto rc = parse_flags(ctx, kUpdate, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kUpdate, "at least", 1);
  Json body = Json::object();
  auto size_flag = [&](const char* name, const char* shorthand, const char* field, bool allow_neg) -> Status {
    if (!f.changed(name)) return ok();
    std::string v = f.get_string(name);
    if (allow_neg && v == "-1") {
      body[field] = -1;
      return ok();
    }
    auto n = parse_ram_in_bytes(v);
    if (!n)
      return make_error(Errc::invalid, "invalid argument \"" + v + "\" for \"" + shorthand + "\" flag: " + n.error().msg);
    body[field] = *n;
    return ok();
  };
  for (auto st : {size_flag("memory", "-m, --memory", "Memory", false),
                  size_flag("memory-reservation", "--memory-reservation", "MemoryReservation", false),
                  size_flag("memory-swap", "--memory-swap", "MemorySwap", true)}) {
    if (!st) return ctx.flag_error(kUpdate, st.error());
  }
  if (f.changed("cpus")) {
    char* end = nullptr;
    double c = std::strtod(f.get_string("cpus").c_str(), &end);
    if (!end || *end)
      return ctx.flag_error(kUpdate, make_error(Errc::invalid, "invalid argument \"" + f.get_string("cpus") +
                                                                   "\" for \"--cpus\" flag: failed to parse " +
                                                                   f.get_string("cpus") + " as a rational number"));
    body["NanoCpus"] = static_cast<int64_t>(std::llround(c * 1e9));
  }
  const std::pair<const char*, const char*> ints[] = {{"blkio-weight", "BlkioWeight"}, {"cpu-period", "CpuPeriod"},
                                                      {"cpu-quota", "CpuQuota"}, {"cpu-shares", "CpuShares"},
                                                      {"pids-limit", "PidsLimit"}};
  for (const auto& [flag, field] : ints)
    if (f.changed(flag)) body[field] = f.get_int(flag);
  if (f.changed("cpuset-cpus")) body["CpusetCpus"] = f.get_string("cpuset-cpus");
  if (f.changed("cpuset-mems")) body["CpusetMems"] = f.get_string("cpuset-mems");
  if (f.changed("restart")) {
    std::string r = f.get_string("restart");
    auto colon = r.find(':');
    Json rp{{"Name", r.substr(0, colon)}, {"MaximumRetryCount", 0}};
    if (colon != std::string::npos) rp["MaximumRetryCount"] = std::atoi(r.c_str() + colon + 1);
    body["RestartPolicy"] = rp;
  }
  if (body.empty()) return ctx.fail("you must provide one or more flags when using this command");
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  std::string errs;
  for (const auto& n : f.args()) {
    auto r = (*api)->request(client::Request::post(path_of(n) + "/update", {}, body.dump()));
    if (!r) {
      errs += (errs.empty() ? "" : "\n") + r.error().msg;
      continue;
    }
    ctx.out << n << "\n";
  }
  ctx.out.flush();
  return errs.empty() ? 0 : ctx.fail(errs);
}

namespace {

struct StatsRow {
  std::string id, name, cpu, mem_usage, mem_perc, net, block, pids;
};

StatsRow stats_row(const Json& s) {
  StatsRow r;
  r.id = truncate_id(s.value("id", std::string()));
  std::string name = s.value("name", std::string());
  r.name = !name.empty() && name[0] == '/' ? name.substr(1) : name;
  const Json& cpu = s["cpu_stats"];
  const Json& pre = s["precpu_stats"];
  auto u64 = [](const Json& j, const char* a, const char* b = nullptr) -> double {
    const Json* p = &j;
    if (!p->is_object() || !p->contains(a)) return 0;
    p = &(*p)[a];
    if (b) {
      if (!p->is_object() || !p->contains(b)) return 0;
      p = &(*p)[b];
    }
    return p->is_number() ? p->get<double>() : 0;
  };
  double cpu_delta = u64(cpu, "cpu_usage", "total_usage") - u64(pre, "cpu_usage", "total_usage");
  double sys_delta = u64(cpu, "system_cpu_usage") - u64(pre, "system_cpu_usage");
  double online = u64(cpu, "online_cpus");
  double pct = (sys_delta > 0 && cpu_delta > 0) ? cpu_delta / sys_delta * online * 100.0 : 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f%%", pct);
  r.cpu = buf;
  const Json& mem = s["memory_stats"];
  double usage = u64(mem, "usage"), limit = u64(mem, "limit");
  double inactive = u64(mem, "stats", "total_inactive_file");
  if (inactive == 0) inactive = u64(mem, "stats", "inactive_file");
  if (inactive < usage) usage -= inactive;
  r.mem_usage = bytes_size(usage) + " / " + bytes_size(limit);
  std::snprintf(buf, sizeof buf, "%.2f%%", limit > 0 ? usage / limit * 100.0 : 0.0);
  r.mem_perc = buf;
  double rx = 0, tx = 0;
  if (s.contains("networks") && s["networks"].is_object())
    for (const auto& [k, v] : s["networks"].items()) {
      rx += u64(v, "rx_bytes");
      tx += u64(v, "tx_bytes");
    }
  r.net = human_size(rx) + " / " + human_size(tx);
  double rd = 0, wr = 0;
  if (s.contains("blkio_stats") && s["blkio_stats"].is_object()) {
    const Json& e = s["blkio_stats"]["io_service_bytes_recursive"];
    if (e.is_array())
      for (const auto& x : e) {
        std::string op = str::to_lower(x.value("op", std::string()));
        if (op == "read") rd += x.value("value", 0.0);
        if (op == "write") wr += x.value("value", 0.0);
      }
  }
  r.block = human_size(rd) + " / " + human_size(wr);
  r.pids = std::to_string(static_cast<int64_t>(u64(s, "pids_stats", "current")));
  return r;
}

}  // namespace

int cmd_stats(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_bool("all", 'a', "Show all containers (default shows just running)");
  f.add_bool("no-stream", 0, "Disable streaming stats and only pull the first result");
  f.add_bool("no-trunc", 0, "Do not truncate output");
  if (auto rc = parse_flags(ctx, kStats, f, args)) return *rc;
  const bool stream = !f.get_bool("no-stream");
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  const bool named = !f.args().empty();
  // One table: a sample of every container (the named ones, or the
  // running/all ones listed now). Errors for named containers are fatal.
  auto table = [&](std::string* out, std::string* errs) -> bool {
    std::vector<std::string> names = f.args();
    if (!named) {
      api::Query q;
      if (f.get_bool("all")) q.emplace_back("all", "1");
      auto r = (*api)->request(client::Request::get("/containers/json", q));
      if (!r) {
        *errs = r.error().msg;
        return false;
      }
      auto j = r->json();
      if (!j) {
        *errs = j.error().msg;
        return false;
      }
      for (const auto& c : *j) names.push_back(c.value("Id", std::string()));
    }
    TabWriter tw(20, 1);
    tw.row({"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"});
    for (const auto& n : names) {
      auto r = (*api)->request(client::Request::get(path_of(n) + "/stats", {{"stream", "0"}}));
      if (!r) {
        *errs += (errs->empty() ? "" : "\n") + r.error().msg;
        continue;
      }
      auto j = r->json();
      if (!j) continue;
      auto row = stats_row(*j);
      if (f.get_bool("no-trunc")) row.id = j->value("id", std::string());
      tw.row({row.id, row.name, row.cpu, row.mem_usage, row.mem_perc, row.net, row.block, row.pids});
    }
    *out = tw.str();
    return true;
  };
  if (!stream) {
    std::string out, errs;
    bool okay = table(&out, &errs);
    ctx.out << out;
    ctx.out.flush();
    if (!okay) return ctx.fail(errs);
    return errs.empty() ? 0 : ctx.fail(errs);
  }
  // Streaming: clear the screen and redraw the table once a second, as the
  // docker CLI does, until interrupted (or every named container is gone).
  for (;;) {
    std::string out, errs;
    bool okay = table(&out, &errs);
    if (!okay || (named && !errs.empty())) return ctx.fail(errs);
    ctx.out << "\033[2J\033[H" << out;
    ctx.out.flush();
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int cmd_exec(Context& ctx, const Args& args) {
  FlagSet f(/*interspersed=*/false);
  f.add_bool("detach", 'd', "Detached mode: run command in the background");
  f.add_list("env", 'e', "Set environment variables");
  f.add_bool("interactive", 'i', "Keep STDIN open even if not attached");
  f.add_bool("privileged", 0, "Give extended privileges to the command");
  f.add_bool("tty", 't', "Allocate a pseudo-TTY");
  f.add_string("user", 'u', "", "Username or UID (format: \"<name|uid>[:<group|gid>]\")");
  f.add_string("workdir", 'w', "", "Working directory inside the container");
  if (auto rc = parse_flags(ctx, kExec, f, args)) return *rc;
  if (f.args().size() < 2) return ctx.args_error(kExec, "at least", 2);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  client::Client& c = **api;
  const std::string name = f.args()[0];
  bool detach = f.get_bool("detach"), tty = f.get_bool("tty"), interactive = f.get_bool("interactive");
  Json body{{"User", f.get_string("user")},
            {"Privileged", f.get_bool("privileged")},
            {"Tty", tty},
            {"AttachStdin", interactive && !detach},
            {"AttachStdout", !detach},
            {"AttachStderr", !detach},
            {"Detach", detach},
            {"Cmd", std::vector<std::string>(f.args().begin() + 1, f.args().end())},
            {"WorkingDir", f.get_string("workdir")}};
  if (!f.get_list("env").empty()) body["Env"] = f.get_list("env");
  auto created = c.request(client::Request::post(path_of(name) + "/exec", {}, body.dump()));
  if (!created) return ctx.fail(created.error().msg, 1);
  auto cj = created->json();
  if (!cj) return ctx.fail(cj.error().msg);
  std::string id = cj->value("Id", std::string());
  Json start{{"Detach", detach}, {"Tty", tty}};
  if (detach) {
    auto r = c.request(client::Request::post("/exec/" + id + "/start", {}, start.dump()));
    if (!r) return ctx.fail(r.error().msg);
    return 0;
  }
  if (tty && interactive && !::isatty(ctx.in_fd)) return ctx.fail("the input device is not a TTY");
  client::Request sr = client::Request::post("/exec/" + id + "/start", {}, start.dump());
  auto hj = c.hijack(sr);
  if (!hj) return ctx.fail(hj.error().msg);
  // -t on a terminal: raw mode while attached, the window size now and on
  // every SIGWINCH (as the docker CLI).
  const bool out_tty = tty && ::isatty(ctx.out.fd());
  auto send_size = [&] {
    int rows = 0, cols = 0;
    if (window_size(ctx.out.fd(), &rows, &cols))
      (void)c.request(client::Request::post("/exec/" + id + "/resize",
                                            {{"h", std::to_string(rows)}, {"w", std::to_string(cols)}}));
  };
  sigset_t winch, old_mask;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  UniqueFd winch_fd;
  if (out_tty && ::sigprocmask(SIG_BLOCK, &winch, &old_mask) == 0)
    winch_fd.reset(::signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK));
  std::optional<RawTerminal> raw;
  if (tty && interactive && ::isatty(ctx.in_fd)) raw.emplace(ctx.in_fd);
  if (out_tty) send_size();
  api::StdcopyDecoder demux;
  bool stdin_open = interactive;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    pollfd fds[3] = {{hj->fd(), POLLIN, 0}, {winch_fd ? winch_fd.get() : -1, POLLIN, 0}, {ctx.in_fd, POLLIN, 0}};
    if (!hj->has_buffered()) {
      int pr = ::poll(fds, stdin_open ? 3 : 2, -1);
      if (pr < 0 && errno == EINTR) continue;
      if (pr < 0) break;
    } else {
      fds[0].revents = POLLIN;
      fds[1].revents = fds[2].revents = 0;
    }
    if (winch_fd && (fds[1].revents & POLLIN)) {
      signalfd_siginfo si{};
      while (::read(winch_fd.get(), &si, sizeof si) == sizeof si) {
      }
      send_size();
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto r = hj->read(buf.data(), buf.size());
      if (!r || *r == 0) break;
      std::string_view data(buf.data(), *r);
      if (tty) {
        (void)fs::write_all(ctx.out.fd(), data);
      } else {
        auto st = demux.feed(data, [&](api::StdStream s, std::string_view p) {
          (void)fs::write_all(s == api::StdStream::stderr_ ? ctx.err.fd() : ctx.out.fd(), p);
        });
        if (!st) return ctx.fail(st.error().msg);
      }
    }
    if (stdin_open && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = ::read(ctx.in_fd, buf.data(), buf.size());
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        stdin_open = false;
        (void)hj->close_write();
      } else if (!hj->write_all(std::string_view(buf.data(), static_cast<size_t>(r)))) {
        stdin_open = false;
      }
    }
  }
  raw.reset();
  if (winch_fd) {
    winch_fd.reset();
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  }
  auto ins = c.request(client::Request::get("/exec/" + id + "/json"));
  if (!ins) return ctx.fail(ins.error().msg);
  auto ij = ins->json();
  if (!ij) return ctx.fail(ij.error().msg);
  const Json& code = (*ij)["ExitCode"];
  return code.is_number() ? code.get<int>() : 0;
}

}  // namespace berth::cli
