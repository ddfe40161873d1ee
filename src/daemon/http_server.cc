#include "daemon/http_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "common/fs.h"
#include "common/strings.h"

namespace berth::daemon {

int http_status(Errc e) {
  switch (e) {
    case Errc::invalid: return 400;
    case Errc::not_found: return 404;
    case Errc::conflict: return 409;
    case Errc::not_modified: return 304;
    case Errc::forbidden: return 403;
    case Errc::unavailable: return 503;
    case Errc::internal: return 500;
    case Errc::unauthorized: return 401;
  }
  return 500;
}

// ------------------------------------------------------------------- Conn

Result<size_t> Conn::fill() {
  if (pos_ > 0 && pos_ == in_.size()) {
    in_.clear();
    pos_ = 0;
  } else if (pos_ > 65536) {
    in_.erase(0, pos_);
    pos_ = 0;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return size_t{0};
      return sys_error("read");
    }
    in_.append(buf, static_cast<size_t>(n));
    return static_cast<size_t>(n);
  }
}

Result<bool> Conn::read_head(api::HttpHead* out) {
  for (;;) {
    std::string_view avail(in_.data() + pos_, in_.size() - pos_);
    if (!avail.empty()) {
      *out = api::HttpHead{};
      size_t used = BERTH_TRY(api::parse_request_head(avail, out));
      if (used > 0) {
        pos_ += used;
        return true;
      }
    }
    size_t n = BERTH_TRY(fill());
    if (n == 0) {
      if (pos_ == in_.size()) return false;
      return make_error(Errc::invalid, "connection closed in the middle of a request");
    }
  }
}

Status Conn::begin_body(const api::HttpHead& h) {
  chunked_ = false;
  body_left_ = 0;
  dec_ = api::ChunkedDecoder{};
  decoded_.clear();
  if (const auto* te = h.header("Transfer-Encoding")) {
    if (str::to_lower(*te).find("chunked") != std::string::npos) {
      chunked_ = true;
      return ok();
    }
    return make_error(Errc::invalid, "unsupported transfer encoding: " + *te);
  }
  if (const auto* cl = h.header("Content-Length")) {
    auto n = str::parse_int(str::trim(*cl));
    if (!n || *n < 0) return make_error(Errc::invalid, "invalid Content-Length");
    body_left_ = static_cast<uint64_t>(*n);
  }
  return ok();
}

Result<size_t> Conn::read_body(char* buf, size_t n) {
  if (n == 0) return size_t{0};
  if (chunked_) {
    for (;;) {
      if (!decoded_.empty()) {
        size_t k = std::min(n, decoded_.size());
        std::memcpy(buf, decoded_.data(), k);
        decoded_.erase(0, k);
        return k;
      }
      if (dec_.done()) {
        chunked_ = false;
        return size_t{0};
      }
      if (pos_ == in_.size()) {
        size_t got = BERTH_TRY(fill());
        if (got == 0) return make_error(Errc::invalid, "unexpected EOF in chunked body");
      }
      std::string_view avail(in_.data() + pos_, in_.size() - pos_);
      size_t used = BERTH_TRY(dec_.feed(avail, &decoded_));
      pos_ += used;
    }
  }
  if (body_left_ == 0) return size_t{0};
  if (pos_ == in_.size()) {
    size_t got = BERTH_TRY(fill());
    if (got == 0) return make_error(Errc::invalid, "unexpected EOF in request body");
  }
  size_t k = std::min<uint64_t>({n, body_left_, in_.size() - pos_});
  std::memcpy(buf, in_.data() + pos_, k);
  pos_ += k;
  body_left_ -= k;
  return k;
}

void linger_close(int fd, int max_ms, size_t max_bytes) {
  ::shutdown(fd, SHUT_WR);
  timespec t0{};
  ::clock_gettime(CLOCK_MONOTONIC, &t0);
  auto elapsed_ms = [&t0] {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
  };
  char buf[65536];
  size_t total = 0;
  for (long left = max_ms; left > 0 && total < max_bytes; left = max_ms - elapsed_ms()) {
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    total += static_cast<size_t>(r);
  }
}

bool Conn::drain_body(size_t limit) {
  char buf[16384];
  size_t total = 0;
  while (!body_done()) {
    auto r = read_body(buf, sizeof buf);
    if (!r || *r == 0) return r.has_value() && body_done();
    total += *r;
    if (total > limit) return false;
  }
  return true;
}

Status Conn::write(std::string_view data) { return fs::write_all(fd_.get(), data); }

std::string Conn::take_buffered() {
  std::string s = in_.substr(pos_);
  in_.clear();
  pos_ = 0;
  return s;
}

// ---------------------------------------------------------------- Request

const std::string& Request::param(const std::string& k) const {
  static const std::string empty;
  auto it = params.find(k);
  return it == params.end() ? empty : it->second;
}

bool Request::qbool(std::string_view key, bool def) const {
  auto v = q(key);
  if (!v) return def;
  return str::parse_query_bool(*v);
}

Result<std::string> Request::body(size_t limit) {
  std::string out;
  char buf[65536];
  for (;;) {
    size_t n = BERTH_TRY(conn->read_body(buf, sizeof buf));
    if (n == 0) break;
    out.append(buf, n);
    if (out.size() > limit) return make_error(Errc::invalid, "request body too large");
  }
  return out;
}

Result<Json> Request::json_body() {
  std::string b = BERTH_TRY(body());
  if (str::trim(b).empty()) return Json(nullptr);
  try {
    return Json::parse(b);
  } catch (const Json::parse_error& e) {
    // nlohmann's text names the byte and what it expected.
    std::string m = e.what();
    if (auto p = m.find("] "); p != std::string::npos) m = m.substr(p + 2);
    return make_error(Errc::invalid, "invalid JSON: " + m);
  }
}

// --------------------------------------------------------------- Response

namespace {
std::string http_date() {
  char buf[64];
  time_t t = ::time(nullptr);
  struct tm tm {};
  ::gmtime_r(&t, &tm);
  ::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}
}  // namespace

std::string Response::common_headers() {
  std::string h;
  h += "Api-Version: 1.41\r\n";
  h += "Docker-Experimental: false\r\n";
  h += "Ostype: linux\r\n";
  h += "Server: berth/0.1.0 (linux)\r\n";
  h += "Date: " + http_date() + "\r\n";
  return h;
}

Status Response::send(int status, std::string_view body, std::string_view content_type,
                      const std::vector<api::Header>& extra) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " +
                    std::string(api::status_reason(status)) + "\r\n";
  out += common_headers();
  for (const auto& h : extra) out += h.name + ": " + h.value + "\r\n";
  if (!content_type.empty()) out += "Content-Type: " + std::string(content_type) + "\r\n";
  if (status != 204 && status != 304) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep_alive_) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_only_ && status != 204 && status != 304) out += body;
  head_sent_ = true;
  return c_.write(out);
}

Status Response::json(int status, const Json& body) {
  return send(status, body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n",
              "application/json");
}

Status Response::error(const Error& e) {
  int st = http_status(e.kind);
  if (st == 304) return send(304, "", "");
  return json(st, Json{{"message", e.msg}});
}

Status Response::start_stream(int status, std::string_view content_type, const std::vector<api::Header>& extra) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " +
                    std::string(api::status_reason(status)) + "\r\n";
  out += common_headers();
  for (const auto& h : extra) out += h.name + ": " + h.value + "\r\n";
  if (!content_type.empty()) out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Transfer-Encoding: chunked\r\n";
  if (!keep_alive_) out += "Connection: close\r\n";
  out += "\r\n";
  head_sent_ = true;
  streaming_ = true;
  return c_.write(out);
}

Status Response::chunk(std::string_view data) {
  if (data.empty()) return ok();
  return c_.write(api::chunk(data));
}

Status Response::end_stream() {
  streaming_ = false;
  return c_.write(api::kLastChunk);
}

Status Response::hijack(bool upgrade, std::string_view content_type) {
  std::string out = upgrade ? "HTTP/1.1 101 UPGRADED\r\n" : "HTTP/1.1 200 OK\r\n";
  out += "Content-Type: " + std::string(content_type) + "\r\n";
  if (upgrade) out += "Connection: Upgrade\r\nUpgrade: tcp\r\n";
  out += common_headers();
  out += "\r\n";
  head_sent_ = true;
  hijacked_ = true;
  keep_alive_ = false;
  return c_.write(out);
}

// ----------------------------------------------------------------- Router

namespace {
std::vector<std::string> split_path(std::string_view p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < p.size()) {
    while (i < p.size() && p[i] == '/') ++i;
    if (i >= p.size()) break;
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    out.emplace_back(p.substr(i, j - i));
    i = j;
  }
  return out;
}
bool is_param(const std::string& s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }
bool is_wild(const std::string& s) { return is_param(s) && s[s.size() - 2] == '*'; }
std::string param_name(const std::string& s) {
  return is_wild(s) ? s.substr(1, s.size() - 3) : s.substr(1, s.size() - 2);
}
}  // namespace

void Router::add(std::string method, std::string pattern, Handler h) {
  routes_.push_back({std::move(method), split_path(pattern), std::move(h)});
}

bool Router::match_segs(const std::vector<std::string>& pat, const std::vector<std::string>& segs,
                        std::map<std::string, std::string>* params) {
  size_t wild = pat.size();
  for (size_t i = 0; i < pat.size(); ++i)
    if (is_wild(pat[i])) wild = i;
  auto seg_ok = [&](const std::string& p, const std::string& s) {
    if (is_param(p)) {
      (*params)[param_name(p)] = str::url_decode(s);
      return true;
    }
    return p == s;
  };
  if (wild == pat.size()) {
    if (pat.size() != segs.size()) return false;
    for (size_t i = 0; i < pat.size(); ++i)
      if (!seg_ok(pat[i], segs[i])) return false;
    return true;
  }
  size_t after = pat.size() - wild - 1;
  if (segs.size() < wild + 1 + after) return false;
  for (size_t i = 0; i < wild; ++i)
    if (!seg_ok(pat[i], segs[i])) return false;
  for (size_t i = 0; i < after; ++i)
    if (!seg_ok(pat[wild + 1 + i], segs[segs.size() - after + i])) return false;
  std::string joined;
  for (size_t i = wild; i < segs.size() - after; ++i) {
    if (!joined.empty()) joined += '/';
    joined += segs[i];
  }
  (*params)[param_name(pat[wild])] = str::url_decode(joined);
  return true;
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  auto segs = split_path(path);
  std::string_view meth = method == "HEAD" ? "GET" : method;
  for (const auto& r : routes_) {
    std::map<std::string, std::string> params;
    if (!match_segs(r.segs, segs, &params)) continue;
    if (r.method == method || r.method == meth) {
      m.handler = &r.h;
      m.params = std::move(params);
      return m;
    }
    m.path_known = true;
  }
  return m;
}

// ------------------------------------------------------------- connection

namespace {

Status dispatch(Request& req, Response& res, const Router& router) {
  auto vp = api::split_target(req.head.target);
  if (!vp) {
    // A malformed version prefix is routed as an unknown page, as moby does.
    return res.json(404, Json{{"message", "page not found"}});
  }
  req.path = vp->path;
  req.query = api::parse_query(vp->query);
  req.version = vp->version;
  if (vp->version) {
    if (auto st = api::check_api_version(*vp->version); !st) return res.error(st.error());
  }
  auto m = router.match(req.method, req.path);
  if (!m.handler) {
    if (m.path_known) return res.json(405, Json{{"message", "method not allowed"}});
    return res.json(404, Json{{"message", "page not found"}});
  }
  req.params = std::move(m.params);
  Status st;
  try {
    st = (*m.handler)(req, res);
  } catch (const Json::exception& e) {
    st = make_error(Errc::invalid, std::string("invalid JSON: ") + e.what());
  } catch (const std::exception& e) {
    st = make_error(Errc::internal, std::string("internal error: ") + e.what());
  }
  if (!st && !res.head_sent()) return res.error(st.error());
  if (!st) res.set_keep_alive(false);  // the stream broke after its head
  return ok();
}

}  // namespace

void serve_connection(UniqueFd fd, const Router& router, log::Logger& log) {
  Conn conn(std::move(fd));
  for (;;) {
    Request req;
    req.conn = &conn;
    auto got = conn.read_head(&req.head);
    Response res(conn);
    if (!got) {
      res.set_keep_alive(false);
      (void)res.json(400, Json{{"message", got.error().msg}});
      return;
    }
    if (!*got) return;
    req.method = req.head.method;
    bool http10 = req.head.version == "HTTP/1.0";
    const std::string* connection = req.head.header("Connection");
    std::string conn_hdr = connection ? str::to_lower(*connection) : "";
    bool keep = http10 ? conn_hdr.find("keep-alive") != std::string::npos
                       : conn_hdr.find("close") == std::string::npos;
    res.set_keep_alive(keep);
    res.set_head_only(req.method == "HEAD");
    if (auto st = conn.begin_body(req.head); !st) {
      res.set_keep_alive(false);
      (void)res.error(st.error());
      return;
    }
    if (const auto* ex = req.head.header("Expect");
        ex && str::to_lower(*ex) == "100-continue" && !conn.body_done())
      (void)conn.write("HTTP/1.1 100 Continue\r\n\r\n");
    BERTH_LOG(log, debug, "request", {"method", req.method}, {"target", req.head.target});
    (void)dispatch(req, res, router);
    if (res.hijacked()) return;
    // An answer given before the whole body arrived (an error from a
    // streaming handler): let the client finish sending before we close,
    // as Go's server does, or it sees EPIPE instead of our answer.
    if (!res.keep_alive()) {
      if (!conn.body_done()) linger_close(conn.fd());
      return;
    }
    if (!conn.body_done() && !conn.drain_body(1 << 20)) {
      linger_close(conn.fd());
      return;
    }
  }
}

// ----------------------------------------------------------------- Server

struct ConnPool {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<int> queue;  // accepted, handed to a waiting thread
  int idle = 0;           // threads waiting for a connection
  bool stop = false;
};

namespace {

// At most this many threads wait, each for at most kIdleFor: an idle daemon
// keeps none for long (its RSS), a burst of runs reuses them.
constexpr int kMaxIdleThreads = 4;
constexpr auto kIdleFor = std::chrono::seconds(5);

void connection_thread(std::shared_ptr<ConnPool> pool, int fd, const Router& router, log::Logger& log) {
  for (;;) {
    serve_connection(UniqueFd(fd), router, log);
    std::unique_lock g(pool->mu);
    if (pool->stop || pool->idle >= kMaxIdleThreads) return;
    ++pool->idle;
    pool->cv.wait_for(g, kIdleFor, [&] { return !pool->queue.empty() || pool->stop; });
    --pool->idle;
    if (pool->stop || pool->queue.empty()) return;
    fd = pool->queue.front();
    pool->queue.pop_front();
  }
}

}  // namespace

Server::Server(const Router& router, log::Logger& log)
    : router_(router), log_(log), pool_(std::make_shared<ConnPool>()) {}

Server::~Server() {
  for (auto& [path, fd] : listeners_) ::unlink(path.c_str());
  std::lock_guard g(pool_->mu);
  pool_->stop = true;
  for (int fd : pool_->queue) ::close(fd);
  pool_->queue.clear();
  pool_->cv.notify_all();
}

void Server::dispatch(int fd) {
  {
    // A waiting thread takes it (one per queued connection, so none waits
    // behind another's).
    std::lock_guard g(pool_->mu);
    if (!pool_->stop && pool_->idle > static_cast<int>(pool_->queue.size())) {
      pool_->queue.push_back(fd);
      pool_->cv.notify_one();
      return;
    }
  }
  std::thread(connection_thread, pool_, fd, std::cref(router_), std::ref(log_)).detach();
}

namespace {

// The socket's group, by number or by name from /etc/group, read directly
// as dockerd does: getgrnam would load the NSS modules (libnss_systemd and
// its libraries, ~0.4 MiB resident for the daemon's whole life) for one
// lookup at start.
std::optional<gid_t> socket_group_gid(const std::string& group) {
  if (auto n = str::parse_int(group); n && *n >= 0) return static_cast<gid_t>(*n);
  auto text = fs::read_file("/etc/group");
  if (!text) return std::nullopt;
  for (auto line : str::split(*text, '\n')) {
    auto f = str::split(line, ':');
    if (f.size() >= 3 && f[0] == group)
      if (auto n = str::parse_int(f[2]); n && *n >= 0) return static_cast<gid_t>(*n);
  }
  return std::nullopt;
}

}  // namespace

Status Server::listen_unix(const std::string& path, const std::string& group) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return make_error(Errc::invalid, "socket path too long: " + path);
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  // Another daemon answering on the socket? Refuse rather than steal it.
  {
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0)
      return make_error(Errc::conflict, "another daemon is already listening on " + path);
  }
  ::unlink(path.c_str());
  BERTH_TRY_VOID(fs::mkdir_p(fs::dirname(path), 0755));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket");
  mode_t old = ::umask(0117);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::umask(old);
  if (rc != 0) return sys_error("bind " + path);
  ::chmod(path.c_str(), 0660);
  if (!group.empty())
    if (auto gid = socket_group_gid(group)) (void)!::chown(path.c_str(), 0, *gid);
  if (::listen(fd.get(), 128) != 0) return sys_error("listen " + path);
  listeners_.emplace_back(path, std::move(fd));
  return ok();
}

void Server::serve() {
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  std::vector<pollfd> pfds;
  for (auto& [p, fd] : listeners_) pfds.push_back({fd.get(), POLLIN, 0});
  pfds.push_back({wake_.get(), POLLIN, 0});
  while (!stop_) {
    int n = ::poll(pfds.data(), pfds.size(), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      BERTH_LOG(log_, error, "poll on listeners failed", {"errno", std::to_string(errno)});
      return;
    }
    for (size_t i = 0; i + 1 < pfds.size(); ++i) {
      if (!(pfds[i].revents & POLLIN)) continue;
      int c = ::accept4(pfds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      dispatch(c);
    }
  }
}

void Server::shutdown() {
  stop_ = true;
  {
    std::lock_guard g(pool_->mu);
    pool_->stop = true;
    pool_->cv.notify_all();
  }
  uint64_t one = 1;
  if (wake_) (void)!::write(wake_.get(), &one, sizeof one);
}


Result<std::unique_ptr<BodyPipe>> BodyPipe::open(Request& req) {
  std::unique_ptr<BodyPipe> bp(new BodyPipe());
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0)
    return make_error(Errc::internal, std::string("pipe: ") + std::strerror(errno));
  bp->rd_.reset(p[0]);
  bp->wr_.reset(p[1]);
  BodyPipe* self = bp.get();
  bp->feeder_ = std::thread([self, &req] {
    char buf[65536];
    for (;;) {
      auto n = req.conn->read_body(buf, sizeof buf);
      if (!n) {
        self->body_status_ = std::move(n).error();
        break;
      }
      if (*n == 0) break;
      if (!fs::write_all(self->wr_.get(), std::string_view(buf, *n))) break;  // consumer stopped reading
    }
    self->wr_.reset();
  });
  return bp;
}

Status BodyPipe::finish() {
  rd_.reset();
  if (feeder_.joinable()) feeder_.join();
  return body_status_;
}

}  // namespace berth::daemon
