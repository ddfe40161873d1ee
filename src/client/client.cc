#include "client/client.h"

#include <cerrno>

#include "common/strings.h"

namespace berth::client {

namespace {

constexpr std::string_view kHostHeader = "api.moby.localhost";

Errc kind_for_status(int status) {
  switch (status) {
    case 400: return Errc::invalid;
    case 403: return Errc::forbidden;
    case 404: return Errc::not_found;
    case 409: return Errc::conflict;
    case 503: return Errc::unavailable;
    default: return Errc::internal;
  }
}

std::optional<api::ApiVersion> parse_version(std::string_view s) {
  s = str::trim(s);
  size_t dot = s.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto maj = str::parse_int(s.substr(0, dot));
  auto min = str::parse_int(s.substr(dot + 1));
  if (!maj || !min || *maj < 0 || *min < 0 || *maj > 1000 || *min > 1000) return std::nullopt;
  return api::ApiVersion{static_cast<int>(*maj), static_cast<int>(*min)};
}

}  // namespace

std::string encode_query(const api::Query& q) {
  std::string out;
  for (const auto& [k, v] : q) {
    if (!out.empty()) out += '&';
    out += str::url_encode(k);
    out += '=';
    out += str::url_encode(v);
  }
  return out;
}

std::string path_escape(std::string_view s) { return str::url_encode(s, ":@/"); }

Error daemon_error(int status, std::string_view body, std::string_view method, std::string_view url) {
  std::string msg;
  auto j = parse_json(body);
  if (j && j->is_object() && j->contains("message") && (*j)["message"].is_string()) {
    msg = (*j)["message"].get<std::string>();
  } else {
    msg = std::string(str::trim(body));
  }
  if (msg.empty()) {
    // The docker CLI's text for an empty error body.
    msg = "Error: request returned " + std::string(api::status_reason(status)) + " for API route and version " +
          std::string(url) + ", check if the server supports the requested API version";
    (void)method;
    return Error{kind_for_status(status), 0, msg};
  }
  return Error{kind_for_status(status), 0, "Error response from daemon: " + msg};
}

Result<Json> Response::json() const {
  auto j = parse_json(body);
  if (!j) return make_error(Errc::invalid, "invalid JSON in the daemon's response");
  return j;
}

Result<OrderedJson> Response::ordered_json() const {
  OrderedJson j = OrderedJson::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(Errc::invalid, "invalid JSON in the daemon's response");
  return j;
}

Result<std::string> Stream::read_all() {
  std::string out;
  while (BERTH_TRY(read(&out))) {
  }
  return out;
}

Result<bool> Stream::next_json_line(std::string* line) {
  for (;;) {
    size_t nl = pending_.find('\n');
    if (nl != std::string::npos) {
      *line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      if (str::trim(*line).empty()) continue;
      return true;
    }
    bool more = BERTH_TRY(read(&pending_));
    if (!more && pending_.find('\n') == std::string::npos) {
      *line = std::string(str::trim(pending_));
      pending_.clear();
      return !line->empty();
    }
  }
}

Result<Stream> PendingStream::finish() {
  api::HttpHead head = BERTH_TRY(conn_.read_response_head());
  BodyReader body = BodyReader::for_response(head, method_);
  Stream s(std::move(conn_), std::move(head), body);
  if (s.head().status >= 400) {
    std::string b = BERTH_TRY(s.read_all());
    return daemon_error(s.head().status, b, method_, url_);
  }
  return s;
}

Result<size_t> Hijacked::read(char* buf, size_t n) {
  if (!leftover_.empty()) {
    size_t take = std::min(n, leftover_.size());
    leftover_.copy(buf, take);
    leftover_.erase(0, take);
    return take;
  }
  for (;;) {
    ssize_t r = ::read(conn_.fd(), buf, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return size_t{0};
      return sys_error("read from daemon");
    }
    return static_cast<size_t>(r);
  }
}

Result<Hijacked> PendingHijack::finish() {
  api::HttpHead head = BERTH_TRY(conn_.read_response_head());
  if (head.status == 101 || head.status == 200) {
    std::string left = std::move(conn_.buffer());
    conn_.buffer().clear();
    return Hijacked(std::move(conn_), std::move(left));
  }
  BodyReader body = BodyReader::for_response(head, "POST");
  std::string b;
  while (BERTH_TRY(body.read(conn_, &b))) {
  }
  if (head.status >= 400) return daemon_error(head.status, b, "POST", url_);
  return make_error(Errc::internal, "unexpected answer to an attach request: " + std::to_string(head.status) +
                                        " " + head.reason);
}

Result<Client> Client::create(Options opts) {
  Host h = BERTH_TRY(parse_host(opts.host));
  return Client(std::move(opts), std::move(h));
}

Status Client::ensure_conn() {
  if (conn_ && conn_->open()) return ok();
  conn_.emplace(BERTH_TRY(Conn::dial(host_)));
  return ok();
}

Result<api::ApiVersion> Client::version() {
  if (version_) return *version_;
  Request ping{"HEAD", "/_ping"};
  ping.versioned = false;
  auto r = round_trip(ping, "/_ping", /*raw=*/true);
  if (!r && r.error().kind == Errc::unavailable) return std::move(r).error();
  if (!r || (r->status() != 200 && r->status() != 500)) {
    ping.method = "GET";
    r = round_trip(ping, "/_ping", /*raw=*/true);
    if (!r) return std::move(r).error();
  }
  api::ApiVersion server{1, 24};
  if (const auto* v = r->head.header("API-Version")) {
    if (auto pv = parse_version(*v)) server = *pv;
  }
  ping_.api_version = server;
  if (const auto* os = r->head.header("OSType")) ping_.os_type = *os;
  if (const auto* ex = r->head.header("Docker-Experimental")) ping_.experimental = *ex == "true";
  version_ = std::min(server, opts_.max_version);
  return *version_;
}

Result<std::string> Client::target(const Request& req) {
  if (req.versioned && !version_) (void)BERTH_TRY(version());
  return target_at(req);
}

std::string Client::target_at(const Request& req) const {
  std::string t;
  if (req.versioned) {
    t = "/v";
    t += version_ ? version_->str() : opts_.max_version.str();
  }
  t += req.path;
  if (!req.query.empty()) {
    t += '?';
    t += encode_query(req.query);
  }
  return t;
}

std::string Client::encode_head(const Request& req, const std::string& target, bool chunked_body,
                                bool upgrade) const {
  std::string h;
  h.reserve(256 + req.body.size());
  h += req.method;
  h += ' ';
  h += target;
  h += " HTTP/1.1\r\nHost: ";
  h += host_.kind == Host::Kind::tcp ? host_.host + ":" + host_.port : std::string(kHostHeader);
  h += "\r\nUser-Agent: ";
  h += opts_.user_agent;
  h += "\r\n";
  for (const auto& hd : req.headers) {
    h += hd.name;
    h += ": ";
    h += hd.value;
    h += "\r\n";
  }
  if (!req.body.empty() || chunked_body) {
    h += "Content-Type: ";
    h += req.content_type.empty() ? "application/json" : req.content_type;
    h += "\r\n";
  }
  if (chunked_body) {
    h += "Transfer-Encoding: chunked\r\n";
  } else if (!req.body.empty() || req.method == "POST" || req.method == "PUT") {
    h += "Content-Length: ";
    h += std::to_string(req.body.size());
    h += "\r\n";
  }
  if (upgrade) h += "Connection: Upgrade\r\nUpgrade: tcp\r\n";
  h += "\r\n";
  return h;
}

Result<Response> Client::round_trip(const Request& req, const std::string& target, bool raw) {
  std::string msg = encode_head(req, target, false, false);
  msg += req.body;
  for (int attempt = 0;; ++attempt) {
    bool reused = conn_ && conn_->open();
    BERTH_TRY_VOID(ensure_conn());
    trace(req.method + " " + target);
    auto w = conn_->write_all(msg);
    Result<api::HttpHead> head = w ? conn_->read_response_head() : Result<api::HttpHead>(std::move(w).error());
    if (!head) {
      conn_.reset();
      // An idle kept-alive connection the daemon closed: retry once on a new one.
      if (reused && attempt == 0 &&
          (head.error().sys_errno == EPIPE || head.error().sys_errno == ECONNRESET))
        continue;
      return std::move(head).error();
    }
    Response resp;
    resp.head = std::move(*head);
    BodyReader body = BodyReader::for_response(resp.head, req.method);
    while (BERTH_TRY(body.read(*conn_, &resp.body))) {
    }
    const auto* c = resp.head.header("Connection");
    if (!body.reusable() || (c && str::to_lower(*c) == "close") || resp.head.version == "HTTP/1.0")
      conn_.reset();
    trace(std::to_string(resp.head.status) + " " + resp.head.reason + " (" + std::to_string(resp.body.size()) +
          " bytes)");
    if (resp.head.status >= 400 && !raw) return daemon_error(resp.head.status, resp.body, req.method, target);
    return resp;
  }
}

static bool version_refused(int status, std::string_view body) {
  if (status != 400) return false;
  auto j = parse_json(body);
  std::string_view msg = body;
  if (j && j->is_object() && j->contains("message") && (*j)["message"].is_string())
    msg = (*j)["message"].get_ref<const std::string&>();
  // dockerd >= 17.07: "client version 1.41 is too new. Maximum supported API
  // version is 1.40"; older: "client is newer than server (client API
  // version: 1.41, server API version: 1.24)".
  return msg.find("is too new") != std::string_view::npos ||
         msg.find("client is newer than server") != std::string_view::npos;
}

Result<Response> Client::request(const Request& req) {
  if (!req.versioned || version_) {
    std::string t = target_at(req);
    return round_trip(req, t);
  }
  // No ping first: the request goes out at the highest version this client
  // speaks, which is what negotiation gives with any daemon at or above it.
  // A daemon below it refuses the version (400) before running the handler;
  // only then negotiate and send the request again at the agreed version.
  std::string t = target_at(req);
  Response r = BERTH_TRY(round_trip(req, t, /*raw=*/true));
  if (version_refused(r.status(), r.body)) {
    trace("API version " + opts_.max_version.str() + " refused: negotiating");
    t = BERTH_TRY(target(req));
    return round_trip(req, t);
  }
  if (r.status() >= 400) return daemon_error(r.status(), r.body, req.method, t);
  version_ = opts_.max_version;  // the daemon accepted it
  return r;
}

Result<PendingStream> Client::send_stream(const Request& req) {
  std::string t = BERTH_TRY(target(req));
  Conn c = BERTH_TRY(Conn::dial(host_));
  trace(req.method + " " + t + " (stream)");
  std::string msg = encode_head(req, t, false, false);
  msg += req.body;
  BERTH_TRY_VOID(c.write_all(msg));
  return PendingStream(std::move(c), req.method, t);
}

Result<Stream> Client::stream(const Request& req) {
  PendingStream p = BERTH_TRY(send_stream(req));
  return p.finish();
}

Result<PendingHijack> Client::send_hijack(const Request& req) {
  std::string t = BERTH_TRY(target(req));
  Conn c = BERTH_TRY(Conn::dial(host_));
  trace(req.method + " " + t + " (hijack)");
  std::string msg = encode_head(req, t, false, true);
  msg += req.body;
  BERTH_TRY_VOID(c.write_all(msg));
  return PendingHijack(std::move(c), t);
}

Result<Hijacked> Client::hijack(const Request& req) {
  PendingHijack p = BERTH_TRY(send_hijack(req));
  return p.finish();
}

Result<Stream> Client::upload(const Request& req, int src_fd) {
  std::string t = BERTH_TRY(target(req));
  Conn c = BERTH_TRY(Conn::dial(host_));
  trace(req.method + " " + t + " (chunked upload)");
  BERTH_TRY_VOID(c.write_all(encode_head(req, t, true, false)));
  std::string buf(256 * 1024, '\0');
  for (;;) {
    ssize_t n = ::read(src_fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read input");
    }
    if (n == 0) break;
    auto w = c.write_all(api::chunk(std::string_view(buf.data(), static_cast<size_t>(n))));
    if (!w) break;  // the daemon may have answered early (an error): read it below
  }
  (void)c.write_all(api::kLastChunk);
  PendingStream p(std::move(c), req.method, t);
  return p.finish();
}

}  // namespace berth::client
