// Docker Engine API client: requests over one kept-alive connection,
// streamed responses and hijacked (Upgrade: tcp) connections on their own
// connections, API version negotiation with the docker CLI's outcome
// (/v<min(server, 1.41)>/...) but without its HEAD /_ping round trip when
// the daemon speaks 1.41 or newer (see request()).
//
// Errors: a daemon answer with status >= 400 becomes an Error whose kind
// follows the status (404 not_found, 409 conflict, 400 invalid, 403
// forbidden, 304 never: it is a success) and whose msg is exactly what the
// docker CLI prints: "Error response from daemon: <message>". A daemon that
// cannot be reached is Errc::unavailable with "Cannot connect to the berth
// daemon at <url>. Is the berth daemon running?".
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_wire.h"
#include "client/conn.h"
#include "common/json.h"
#include "common/result.h"

namespace berth::client {

struct Request {
  std::string method = "GET";
  std::string path;  // API path without the version prefix: "/containers/json"
  api::Query query;  // encoded in order; repeated keys allowed
  std::string body;
  std::string content_type;  // defaults to application/json when body is set
  std::vector<api::Header> headers;
  bool versioned = true;  // false: send the path as is (e.g. /_ping)

  static Request get(std::string path, api::Query q = {}) { return {"GET", std::move(path), std::move(q)}; }
  static Request post(std::string path, api::Query q = {}, std::string body = {}) {
    return {"POST", std::move(path), std::move(q), std::move(body)};
  }
  static Request del(std::string path, api::Query q = {}) { return {"DELETE", std::move(path), std::move(q)}; }
};

struct Response {
  api::HttpHead head;
  std::string body;
  int status() const { return head.status; }
  // Parses the body; Errc::invalid naming the request on malformed JSON.
  Result<Json> json() const;
  // The body parsed preserving key order (for `inspect` output).
  Result<OrderedJson> ordered_json() const;
};

// Builds the Error for a >= 400 response with its body (the docker CLI's
// wording, see the file comment).
Error daemon_error(int status, std::string_view body, std::string_view method, std::string_view url);

// A response whose body is read incrementally, on its own connection.
class Stream {
 public:
  const api::HttpHead& head() const { return head_; }
  int fd() const { return conn_.fd(); }
  // Bytes already received and not yet decoded (poll() would not report them).
  bool has_buffered() const { return !conn_.buffer().empty(); }
  // Appends decoded body bytes; false once the body is complete (the last
  // bytes may come with that call).
  Result<bool> read(std::string* out) { return body_.read(conn_, out); }
  Result<std::string> read_all();
  // Reads whole newline-separated JSON messages (progress streams); returns
  // false at the end of the body.
  Result<bool> next_json_line(std::string* line);

 private:
  friend class Client;
  friend class PendingStream;
  Stream(Conn c, api::HttpHead h, BodyReader b) : conn_(std::move(c)), head_(std::move(h)), body_(b) {}
  Conn conn_;
  api::HttpHead head_;
  BodyReader body_;
  std::string pending_;  // partial line for next_json_line
};

// A request sent whose response head has not been read yet: lets the caller
// put several requests in flight before waiting (run: attach, wait, start).
class PendingStream {
 public:
  Result<Stream> finish();

 private:
  friend class Client;
  PendingStream(Conn c, std::string method, std::string url)
      : conn_(std::move(c)), method_(std::move(method)), url_(std::move(url)) {}
  Conn conn_;
  std::string method_;
  std::string url_;
};

// The raw connection after a 101 (or, from older daemons, 200) answer to an
// attach or exec start.
class Hijacked {
 public:
  int fd() const { return conn_.fd(); }
  bool has_buffered() const { return !leftover_.empty(); }
  // Reads up to n bytes: first what arrived with the response head, then the
  // socket. 0 means EOF.
  Result<size_t> read(char* buf, size_t n);
  Status write_all(std::string_view d) { return conn_.write_all(d); }
  // Half-close: tells the daemon stdin ended.
  Status close_write() { return conn_.shutdown_write(); }

 private:
  friend class PendingHijack;
  Hijacked(Conn c, std::string leftover) : conn_(std::move(c)), leftover_(std::move(leftover)) {}
  Conn conn_;
  std::string leftover_;
};

class PendingHijack {
 public:
  Result<Hijacked> finish();

 private:
  friend class Client;
  PendingHijack(Conn c, std::string url) : conn_(std::move(c)), url_(std::move(url)) {}
  Conn conn_;
  std::string url_;
};

struct PingInfo {
  std::optional<api::ApiVersion> api_version;  // from the API-Version header
  std::string os_type;
  bool experimental = false;
};

class Client {
 public:
  struct Options {
    std::string host;  // "" → kDefaultHost
    std::string user_agent = "berth";
    // Called with one line per request/response when set (`berth -D`).
    std::function<void(std::string_view)> trace;
    // Highest API version this client speaks.
    api::ApiVersion max_version = api::kMaxApiVersion;
  };

  // Parses the host; does no I/O (the first request connects and pings).
  static Result<Client> create(Options opts);

  const Host& host() const { return host_; }
  // Negotiates when nothing fixed the version yet: HEAD /_ping (GET /_ping when HEAD is not
  // answered with 200 or 500, as the docker CLI does), then
  // min(server, max_version). A server without an API-Version header is
  // assumed to speak 1.24, as the docker CLI assumes.
  Result<api::ApiVersion> version();
  const PingInfo& ping_info() const { return ping_; }
  api::ApiVersion max_version() const { return opts_.max_version; }

  // Sends on the kept-alive connection and reads the whole response. The
  // first request does not wait for a ping: it goes out at max_version and
  // negotiates (then sends again) only if the daemon refuses that version
  // as too new; a success fixes the version at max_version.
  Result<Response> request(const Request& req);
  // Sends a request whose body is streamed from `src` with chunked transfer
  // coding (import, load, build), on its own connection, and returns the
  // streamed response.
  Result<Stream> upload(const Request& req, int src_fd);
  // Sends on a new connection; the returned stream's head has been read.
  Result<Stream> stream(const Request& req);
  // Sends on a new connection without waiting for the answer.
  Result<PendingStream> send_stream(const Request& req);
  // Sends with Connection: Upgrade / Upgrade: tcp on a new connection.
  Result<PendingHijack> send_hijack(const Request& req);
  Result<Hijacked> hijack(const Request& req);

  // The target the request goes to: "/v1.41/containers/json?all=1"
  // (negotiating first when the version is not known yet).
  Result<std::string> target(const Request& req);

 private:
  Client(Options o, Host h) : opts_(std::move(o)), host_(std::move(h)) {}
  Status ensure_conn();
  // The target at the known version, or at max_version before one is known.
  std::string target_at(const Request& req) const;
  std::string encode_head(const Request& req, const std::string& target, bool chunked_body,
                          bool upgrade) const;
  // Error statuses (>= 400) become daemon errors unless raw is set.
  Result<Response> round_trip(const Request& req, const std::string& target, bool raw = false);
  void trace(std::string_view s) const {
    if (opts_.trace) opts_.trace(s);
  }

  Options opts_;
  Host host_;
  std::optional<Conn> conn_;  // the kept-alive connection
  std::optional<api::ApiVersion> version_;
  PingInfo ping_;
};

// Encodes a query string ("a=1&b=x%20y").
std::string encode_query(const api::Query& q);
// Escapes one user-given path element (container name, image reference):
// keeps letters, digits, "-._~:@/" and percent-encodes the rest.
std::string path_escape(std::string_view s);

}  // namespace berth::client
