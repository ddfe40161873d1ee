// berthd's HTTP/1.1 server on a unix socket: one thread per connection,
// blocking I/O, keep-alive, Content-Length and chunked request bodies,
// chunked streaming responses, and connection hijacking (attach).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/http_wire.h"
#include "common/json.h"
#include "common/log.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::daemon {

// The one table from error kind to HTTP status.
int http_status(Errc e);

// Reads a request head and body off a connection.
// Ends a stream socket without a reset: half-closes our side, then reads
// and drops what the peer still sends until it closes too, for at most
// `max_ms` and `max_bytes`. Closing a socket with unread input makes the
// kernel answer the peer's next write with a reset or EPIPE, so a client
// still sending a request body (docker cp into a bad path) or typing into
// an exec would see "broken pipe" / "connection reset by peer" instead of
// the answer already sent.
void linger_close(int fd, int max_ms = 1000, size_t max_bytes = size_t{64} << 20);

class Conn {
 public:
  explicit Conn(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }
  // false: the peer closed the connection before a new request.
  Result<bool> read_head(api::HttpHead* out);
  // Set up body framing from the head (Content-Length / chunked / none).
  Status begin_body(const api::HttpHead& h);
  // Reads up to n decoded body bytes; 0 at the end of the body.
  Result<size_t> read_body(char* buf, size_t n);
  bool body_done() const { return body_left_ == 0 && !chunked_; }
  // Reads and discards the rest of the body (bounded); false if too large.
  bool drain_body(size_t limit);
  Status write(std::string_view data);
  // Bytes received past the current request (for a hijacked stream).
  std::string take_buffered();

 private:
  Result<size_t> fill();  // read more into in_; 0 = EOF
  UniqueFd fd_;
  std::string in_;
  size_t pos_ = 0;  // consumed prefix of in_
  uint64_t body_left_ = 0;
  bool chunked_ = false;
  api::ChunkedDecoder dec_;
  std::string decoded_;
};

struct Request {
  api::HttpHead head;
  std::string method;
  std::string path;  // without version prefix and query
  api::Query query;
  std::optional<api::ApiVersion> version;
  std::map<std::string, std::string> params;  // route parameters
  Conn* conn = nullptr;

  const std::string& param(const std::string& k) const;
  std::optional<std::string> q(std::string_view key) const { return api::query_get(query, key); }
  // dockerd's boolean: absent → def.
  bool qbool(std::string_view key, bool def = false) const;
  // The whole body (Errc::invalid when larger than limit).
  Result<std::string> body(size_t limit = 64 << 20);
  // The body as a JSON object/value; empty body → null. Malformed → 400.
  Result<Json> json_body();
  api::ApiVersion effective_version() const { return version.value_or(api::kMaxApiVersion); }
};

// The request body streamed into a pipe by a helper thread, for consumers
// that read an fd (archive extraction, image import and load).
class BodyPipe {
 public:
  static Result<std::unique_ptr<BodyPipe>> open(Request& req);
  ~BodyPipe() { (void)finish(); }
  BodyPipe(const BodyPipe&) = delete;
  BodyPipe& operator=(const BodyPipe&) = delete;
  int fd() const { return rd_.get(); }
  // Closes the read end (a feeder blocked on a consumer that stopped
  // reading gives up), waits for the feeder, and says how reading the body
  // went.
  Status finish();

 private:
  BodyPipe() = default;
  UniqueFd rd_, wr_;
  std::thread feeder_;
  Status body_status_;
};

class Response {
 public:
  explicit Response(Conn& c) : c_(c) {}
  Status send(int status, std::string_view body, std::string_view content_type,
              const std::vector<api::Header>& extra = {});
  Status json(int status, const Json& body);
  Status no_content() { return send(204, "", ""); }
  Status error(const Error& e);
  // Chunked streaming response.
  Status start_stream(int status, std::string_view content_type, const std::vector<api::Header>& extra = {});
  Status chunk(std::string_view data);
  Status end_stream();
  // Hijack: `upgrade` → 101 UPGRADED (Connection: Upgrade, Upgrade: tcp),
  // else 200 OK; then the connection is a raw stream.
  Status hijack(bool upgrade, std::string_view content_type);
  bool head_sent() const { return head_sent_; }
  bool hijacked() const { return hijacked_; }
  bool keep_alive() const { return keep_alive_; }
  void set_keep_alive(bool k) { keep_alive_ = k; }
  void set_head_only(bool h) { head_only_ = h; }
  Conn& conn() { return c_; }

 private:
  std::string common_headers();
  Conn& c_;
  bool head_sent_ = false;
  bool streaming_ = false;
  bool hijacked_ = false;
  bool keep_alive_ = true;
  bool head_only_ = false;
};

using Handler = std::function<Status(Request&, Response&)>;

// Method + path pattern routing. Patterns are '/'-separated: literal
// segments, "{name}" (one segment) and at most one "{name*}" (one or more
// segments, for image names with '/'). Routes are tried in order.
class Router {
 public:
  void add(std::string method, std::string pattern, Handler h);
  struct Match {
    const Handler* handler = nullptr;
    std::map<std::string, std::string> params;
    bool path_known = false;  // some route matches the path with another method
  };
  Match match(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segs;
    Handler h;
  };
  static bool match_segs(const std::vector<std::string>& pat, const std::vector<std::string>& segs,
                         std::map<std::string, std::string>* params);
  std::vector<Route> routes_;
};

// Serves one connection until it closes (used by the server's threads and
// by tests over a socketpair).
void serve_connection(UniqueFd fd, const Router& router, log::Logger& log);

// Connection threads that finished a connection and wait (a while) for the
// next one instead of exiting: a `run` opens three connections, and each
// new thread costs a clone and, at its exit, the release of its stack.
struct ConnPool;

class Server {
 public:
  Server(const Router& router, log::Logger& log);
  ~Server();
  // Binds a unix socket: removes a stale socket file, refuses when another
  // daemon answers on it, mode 0660, group `group` when it exists.
  Status listen_unix(const std::string& path, const std::string& group);
  // Accept loop; returns after shutdown().
  void serve();
  void shutdown();

 private:
  const Router& router_;
  log::Logger& log_;
  std::vector<std::pair<std::string, UniqueFd>> listeners_;
  UniqueFd wake_;
  std::atomic<bool> stop_{false};
  // Shared with the connection threads, which may outlive the Server.
  std::shared_ptr<ConnPool> pool_;
  void dispatch(int fd);
};

}  // namespace berth::daemon
