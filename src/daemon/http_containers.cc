// /containers/... routes.
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "api/detach_keys.h"
#include "common/fs.h"
#include "common/strings.h"
#include "common/time.h"
#include "container/signals.h"
#include "container/archive.h"
#include "daemon/routes.h"
#include "image/reference.h"
#include "logging/json_file.h"

namespace berth::daemon {

// http_archive.cc
void add_archive_routes(Router& r, Backends& b);

namespace {

constexpr std::string_view kRawStream = "application/vnd.docker.raw-stream";

// True when the client closed its side (read would return 0). Data that
// arrives instead is left in the socket.
bool client_closed(int fd) {
  char c;
  ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

// Waits for `notice_fd` to become readable; false when the client went away
// first. With `half_close_ok` (attach: the CLI shuts down its write side
// when it has no stdin to send) EOF from the client is not a hangup.
bool wait_notice_or_hangup(int notice_fd, int client_fd, bool half_close_ok = false) {
  bool watch_client = true;
  for (;;) {
    pollfd p[2] = {{notice_fd, POLLIN, 0}, {client_fd, static_cast<short>(POLLIN | POLLRDHUP), 0}};
    int n = ::poll(p, watch_client ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (p[0].revents) return true;
    if (watch_client && p[1].revents) {
      if (client_closed(client_fd) && !half_close_ok) return false;
      watch_client = false;  // pipelined bytes or a half-close; stop watching
    }
  }
}

Result<int> query_int(const Request& req, std::string_view key, int def) {
  auto v = req.q(key);
  if (!v || v->empty()) return def;
  auto n = str::parse_int(*v);
  if (!n) return make_error(Errc::invalid, "invalid value for " + std::string(key) + ": " + *v);
  return static_cast<int>(*n);
}

Status write_all_fd(int fd, std::string_view d) { return fs::write_all(fd, d); }

}  // namespace


// Copies bytes between the hijacked client and the shim's attach stream
// until the shim closes it (the container exited), the client goes away or
// the client's stdin carries `detach_keys` (when not empty; true is
// returned then and the container keeps running).
bool relay_attach(int client, int shim, bool forward_stdin, std::string pending_stdin,
                  const std::function<void()>& before_end, std::string_view detach_keys) {
  api::EscapeMatcher escape{std::string(detach_keys)};
  std::string send;
  // Passes stdin through the detach matcher; true on a detach.
  auto forward = [&](std::string_view in) {
    send.clear();
    bool detached = escape.feed(in, send);
    if (!send.empty()) (void)write_all_fd(shim, send);
    return detached;
  };
  if (forward_stdin && !pending_stdin.empty() && forward(pending_stdin)) {
    linger_close(client);
    return true;
  }
  bool client_open = true;
  char buf[65536];
  for (;;) {
    pollfd p[2] = {{shim, POLLIN, 0}, {client, POLLIN, 0}};
    int n = ::poll(p, client_open ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (p[0].revents) {
      ssize_t r = ::read(shim, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {  // container gone: end of stream
        if (before_end) before_end();
        if (client_open) linger_close(client);
        return false;
      }
      if (!write_all_fd(client, std::string_view(buf, static_cast<size_t>(r)))) return false;
    }
    if (client_open && p[1].revents) {
      ssize_t r = ::read(client, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        client_open = false;
        // stdin EOF: a held-back partial detach sequence is typed through,
        // then the shim closes the container's stdin (StdinOnce).
        if (forward_stdin) {
          send.clear();
          escape.flush(send);
          if (!send.empty()) (void)write_all_fd(shim, send);
          ::shutdown(shim, SHUT_WR);
        }
        continue;
      }
      if (forward_stdin && forward(std::string_view(buf, static_cast<size_t>(r)))) {
        linger_close(client);
        return true;
      }
    }
  }
}

void add_container_routes(Router& r, Backends& b) {
  auto& cs = b.containers;

  r.add("POST", "/containers/create", [&b, &cs](Request& req, Response& res) -> Status {
    std::string name = req.q("name").value_or("");
    Json body = BERTH_TRY(req.json_body());
    if (body.is_null())
      return make_error(Errc::invalid, "config cannot be empty in order to create a container");
    if (!body.is_object())
      return make_error(Errc::invalid, "json: cannot unmarshal " + std::string(body.type_name()) +
                                           " into Go value of type container.Config");
    if (auto p = req.q("platform"); p && !p->empty()) {
      if (*p != "linux" && !str::starts_with(*p, "linux/"))
        return make_error(Errc::invalid, "unsupported platform: " + *p);
    }
    auto it = body.find("Image");
    if (it == body.end() || !it->is_string() || it->get<std::string>().empty())
      return make_error(Errc::invalid, "No image specified");  // moby: config.Image required
    std::string ref = it->get<std::string>();
    auto img = b.images.resolve(ref);
    if (!img) {
      if (img.error().kind == Errc::not_found) {
        auto norm = image::normalize_reference(ref);
        return make_error(Errc::not_found, "No such image: " + (norm ? *norm : ref));
      }
      return std::move(img).error();
    }
    container::ImageInfo info;
    info.id = img->id;
    info.ref = ref;
    info.config = img->config.contains("config") ? img->config["config"] : Json::object();
    info.layer_dirs = img->layer_dirs;
    std::string id = BERTH_TRY(cs.create(name, body, info));
    return res.json(201, Json{{"Id", id}, {"Warnings", Json::array()}});
  });

  r.add("GET", "/containers/json", [&cs, &b](Request& req, Response& res) -> Status {
    container::ListOptions o;
    o.all = req.qbool("all");
    o.limit = BERTH_TRY(query_int(req, "limit", -1));
    if (auto f = req.q("filters"))
      o.filters = BERTH_TRY(container::parse_filters(*f));
    // Written straight from the records (no JSON tree): DESIGN.md §6, ps.
    auto list = BERTH_TRY(cs.list_entries(o));
    if (req.qbool("size")) {
      // ps -s: SizeRw (omitted when 0, as dockerd) and SizeRootFs.
      for (auto& e : list) {
        auto rec = cs.get(e.id);
        if (!rec) continue;
        auto [rw, rootfs] = container::container_sizes(*rec, b.sys.data_root);
        e.size_rw = rw;
        e.size_root_fs = rootfs;
      }
    }
    std::string body;
    body.reserve(list.size() * 1024 + 3);
    body += '[';
    for (size_t i = 0; i < list.size(); ++i) {
      if (i) body += ',';
      list[i].append_to(body);
    }
    body += "]\n";
    return res.send(200, body, "application/json");
  });

  r.add("GET", "/containers/{id}/json", [&cs, &b](Request& req, Response& res) -> Status {
    Json j = BERTH_TRY(cs.inspect(req.param("id")));
    if (req.qbool("size")) {
      auto rec = BERTH_TRY(cs.get(req.param("id")));
      auto [rw, rootfs] = container::container_sizes(rec, b.sys.data_root);
      j["SizeRw"] = rw;
      j["SizeRootFs"] = rootfs;
    }
    return res.json(200, j);
  });

  r.add("POST", "/containers/{id}/start", [&cs](Request& req, Response& res) -> Status {
    BERTH_TRY_VOID(cs.start(req.param("id")));
    return res.no_content();
  });

  r.add("POST", "/containers/{id}/kill", [&cs](Request& req, Response& res) -> Status {
    const std::string ref = req.param("id");
    int sig = SIGKILL;
    if (auto s = req.q("signal"); s && !s->empty()) {
      // moby's ParseSignal takes any number but 0; the number is then
      // checked against the platform's signals (1-31, 34-64), after the
      // container lookup, with a 500 as dockerd 20.10 answers.
      if (auto n = str::parse_int(*s)) {
        if (*n == 0) return make_error(Errc::invalid, "Invalid signal: " + *s);
        if (!((*n >= 1 && *n <= 31) || (*n >= 34 && *n <= 64))) {
          if (auto found = cs.resolve(ref); !found) return std::move(found).error().wrap("Cannot kill container: " + ref);
          return make_error(Errc::internal, "Cannot kill container: " + ref + ": The linux daemon does not support signal " +
                                                std::to_string(static_cast<uint64_t>(*n)));
        }
        sig = static_cast<int>(*n);
      } else {
        sig = BERTH_TRY(container::parse_signal(*s));
      }
    }
    // dockerd: "Cannot kill container: <ref as given>: <why>" (404 and 409 kept).
    if (auto st = cs.kill(ref, sig); !st) return std::move(st).error().wrap("Cannot kill container: " + ref);
    return res.no_content();
  });

  r.add("POST", "/containers/{id}/stop", [&cs](Request& req, Response& res) -> Status {
    std::optional<int> t;
    if (auto v = req.q("t"); v && !v->empty()) t = BERTH_TRY(query_int(req, "t", 10));
    BERTH_TRY_VOID(cs.stop(req.param("id"), t));
    return res.no_content();
  });

  r.add("POST", "/containers/{id}/restart", [&cs](Request& req, Response& res) -> Status {
    std::optional<int> t;
    if (auto v = req.q("t"); v && !v->empty()) t = BERTH_TRY(query_int(req, "t", 10));
    if (auto st = cs.stop(req.param("id"), t); !st && st.error().kind != Errc::not_modified)
      return st;
    BERTH_TRY_VOID(cs.start(req.param("id")));
    cs.emit(req.param("id"), "restart");
    return res.no_content();
  });

  // `docker rm --link /parent/alias` puts the link's two parts in the path.
  r.add("DELETE", "/containers/{parent}/{alias}", [&cs](Request& req, Response& res) -> Status {
    if (!req.qbool("link")) return make_error(Errc::not_found, "page not found");
    BERTH_TRY_VOID(cs.remove_link("/" + req.param("parent") + "/" + req.param("alias")));
    return res.no_content();
  });

  r.add("DELETE", "/containers/{id}", [&cs](Request& req, Response& res) -> Status {
    if (req.qbool("link")) {
      BERTH_TRY_VOID(cs.remove_link(req.param("id")));
      return res.no_content();
    }
    BERTH_TRY_VOID(cs.remove(req.param("id"), req.qbool("force"), req.qbool("v")));
    return res.no_content();
  });

  r.add("POST", "/containers/{id}/resize", [&cs](Request& req, Response& res) -> Status {
    int h = BERTH_TRY(query_int(req, "h", 0));
    int w = BERTH_TRY(query_int(req, "w", 0));
    BERTH_TRY_VOID(cs.resize(req.param("id"), h, w));
    return res.send(200, "", "text/plain; charset=utf-8");
  });

  r.add("POST", "/containers/{id}/wait", [&cs](Request& req, Response& res) -> Status {
    auto cond = BERTH_TRY(container::parse_wait_condition(req.q("condition").value_or("")));
    auto w = BERTH_TRY(cs.wait(req.param("id"), cond));
    // Headers now: the CLI sends wait before start and waits for them.
    BERTH_TRY_VOID(res.start_stream(200, "application/json"));
    if (!wait_notice_or_hangup(w->notice.fd(), req.conn->fd())) {
      cs.cancel_wait(w);
      res.set_keep_alive(false);
      return ok();
    }
    Json out{{"StatusCode", w->result.exit_code}, {"Error", nullptr}};
    if (!w->result.error.empty()) out["Error"] = Json{{"Message", w->result.error}};
    BERTH_TRY_VOID(res.chunk(out.dump() + "\n"));
    return res.end_stream();
  });

  r.add("POST", "/containers/{id}/attach", [&b, &cs](Request& req, Response& res) -> Status {
    container::AttachOptions o;
    o.stdin_ = req.qbool("stdin");
    o.stdout_ = req.qbool("stdout");
    o.stderr_ = req.qbool("stderr");
    bool stream = req.qbool("stream");
    bool logs = req.qbool("logs");
    if (!stream && !logs)
      return make_error(Errc::invalid, "Bad parameters: you must choose at least one stream");
    // dockerd checks the keys before it looks the container up.
    std::string detach_keys(api::kDefaultDetachKeys);
    if (auto k = req.q("detachKeys"); k && !k->empty()) {
      auto parsed = api::parse_detach_keys(*k);
      if (!parsed) return make_error(Errc::invalid, "Invalid detach keys (" + *k + ") provided");
      detach_keys = std::move(*parsed);
    }
    auto rec = BERTH_TRY(cs.get(req.param("id")));
    bool tty = rec.config.value("Tty", false);
    std::shared_ptr<container::PendingAttach> a;
    // Register before answering: the client starts the container as soon
    // as it sees the response, and the start must find this attach.
    if (stream) a = BERTH_TRY(cs.attach(req.param("id"), o));
    const std::string* up = req.head.header("Upgrade");
    bool upgrade = up && str::to_lower(*up).find("tcp") != std::string::npos;
    if (auto st = res.hijack(upgrade, kRawStream); !st) {
      if (a) cs.cancel_attach(a);
      return ok();
    }
    int client = req.conn->fd();
    std::string pending_stdin = req.conn->take_buffered();
    if (logs) {
      // The container's own log file, whichever format its driver writes.
      auto src = cs.log_source(req.param("id"));
      if (src) cs.cancel_wait(src->exit);
      auto rd = src && !src->path.empty()
                    ? logging::JsonFileReader::open(src->path, src->local ? logging::LogFormat::local
                                                                          : logging::LogFormat::json)
                    : Result<logging::JsonFileReader>(make_error(Errc::not_found, "no log file"));
      if (rd) {
        logging::ReadOptions ro;
        ro.want_stdout = o.stdout_;
        ro.want_stderr = o.stderr_;
        std::string out;
        (void)rd->read_existing(ro, [&](const logging::LogEntry& e) {
          logging::append_log_entry(out, e, tty, false);
          return true;
        });
        if (!write_all_fd(client, out)) {
          if (a) cs.cancel_attach(a);
          return ok();
        }
      }
    }
    if (!a) return ok();
    if (!a->ready.fired()) {
      if (!wait_notice_or_hangup(a->ready.fd(), client, /*half_close_ok=*/true)) {
        cs.cancel_attach(a);
        return ok();
      }
    }
    if (!a->conn) return ok();  // the container went away: empty stream
    if (!a->leftover.empty() && !write_all_fd(client, a->leftover)) return ok();
    // As dockerd, only a TTY's stdin is watched for the detach keys.
    if (relay_attach(client, a->conn.get(), o.stdin_, std::move(pending_stdin), {},
                     tty ? std::string_view(detach_keys) : std::string_view()))
      cs.emit(rec.id, "detach");
    return ok();
  });

  r.add("GET", "/containers/{id}/logs", [&cs](Request& req, Response& res) -> Status {
    logging::ReadOptions ro;
    ro.want_stdout = req.qbool("stdout");
    ro.want_stderr = req.qbool("stderr");
    if (!ro.want_stdout && !ro.want_stderr)
      return make_error(Errc::invalid, "Bad parameters: you must choose at least one stream");
    bool follow = req.qbool("follow");
    bool timestamps = req.qbool("timestamps");
    bool details = req.qbool("details");
    if (auto t = req.q("tail"); t && !t->empty() && *t != "all") {
      auto n = str::parse_int(*t);
      ro.tail = n && *n >= 0 ? *n : -1;
    }
    if (auto s = req.q("since")) ro.since_ns = BERTH_TRY(parse_timestamp(*s));
    if (auto u = req.q("until")) ro.until_ns = BERTH_TRY(parse_timestamp(*u));
    auto src = BERTH_TRY(cs.log_source(req.param("id")));
    // However the stream ends, the exit waiter must not outlive it.
    ScopeExit forget([&] { cs.cancel_wait(src.exit); });
    auto reader = BERTH_TRY(logging::JsonFileReader::open(
        src.path, src.local ? logging::LogFormat::local : logging::LogFormat::json));
    BERTH_TRY_VOID(res.start_stream(200, kRawStream));
    std::string buf;
    bool broken = false;
    auto flush = [&] {
      if (buf.empty() || broken) return;
      if (!res.chunk(buf)) broken = true;
      buf.clear();
    };
    BERTH_TRY_VOID(reader.read_existing(ro, [&](const logging::LogEntry& e) {
      logging::append_log_entry(buf, e, src.tty, timestamps, details);
      if (buf.size() >= 32768) flush();
      return !broken;
    }));
    flush();
    if (follow && !broken && !src.exit->notice.fired() &&
        !(ro.until_ns && ro.until_ns < timeutil::now_unix_nano())) {
      logging::JsonFileFollower follower(std::move(reader), ro);
      UniqueFd done(::eventfd(0, EFD_CLOEXEC));
      int client = req.conn->fd();
      std::thread watcher([&] {
        for (;;) {
          pollfd p[3] = {{src.exit->notice.fd(), POLLIN, 0},
                         {client, static_cast<short>(POLLIN | POLLRDHUP), 0},
                         {done.get(), POLLIN, 0}};
          int n = ::poll(p, 3, -1);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0 || p[2].revents) return;
          if (p[0].revents) {
            follower.notify_exited();
            return;
          }
          if (p[1].revents && client_closed(client)) {
            follower.cancel();
            return;
          }
          if (p[1].revents) {
            // Unexpected bytes from the client; stop watching it.
            pollfd q[2] = {{src.exit->notice.fd(), POLLIN, 0}, {done.get(), POLLIN, 0}};
            while (::poll(q, 2, -1) < 0 && errno == EINTR) {
            }
            if (q[0].revents) follower.notify_exited();
            return;
          }
        }
      });
      auto st = follower.run([&](const logging::LogEntry& e) {
        logging::append_log_entry(buf, e, src.tty, timestamps, details);
        flush();
        return !broken;
      });
      uint64_t one = 1;
      (void)!::write(done.get(), &one, sizeof one);
      watcher.join();
      if (!st) broken = true;
    }
    if (broken) {
      res.set_keep_alive(false);
      return ok();
    }
    return res.end_stream();
  });

  add_container_op_routes(r, b);
  add_exec_routes(r, b);
  add_archive_routes(r, b);
}

}  // namespace berth::daemon
