// One client-side byte stream to a Docker-API daemon (unix socket or TCP),
// with a read buffer so HTTP heads can be parsed incrementally and leftover
// bytes handed to whoever owns the connection next (a body reader or a
// hijacked stream).
#pragma once

#include <string>
#include <string_view>

#include "api/http_wire.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::client {

// A daemon address as given to -H / BERTH_HOST.
struct Host {
  enum class Kind { unix_socket, tcp };
  Kind kind = Kind::unix_socket;
  std::string path;  // unix socket path
  std::string host;  // tcp host name or address (no brackets)
  std::string port;  // tcp port
  std::string url;   // canonical form: "unix:///path" or "tcp://host:port"
};

inline constexpr std::string_view kDefaultHost = "unix:///run/berth/berth.sock";

// Accepts "unix:///path", "/path" (treated as unix), "tcp://host:port",
// "tcp://host" (port 2375) and "tcp://[::1]:port". Other schemes are
// Errc::invalid.
Result<Host> parse_host(std::string_view s);

class Conn {
 public:
  // Errc::unavailable with the docker CLI's "Cannot connect ..." text when
  // nothing listens at the address.
  static Result<Conn> dial(const Host& host);

  int fd() const { return fd_.get(); }
  bool open() const { return fd_.valid(); }
  void close() { fd_.reset(); buf_.clear(); }

  Status write_all(std::string_view data);
  // Reads what is available (blocking for at least one byte) and appends it
  // to the buffer; returns the number of bytes read, 0 at EOF.
  Result<size_t> fill();
  // Bytes read from the socket but not consumed yet.
  std::string& buffer() { return buf_; }
  const std::string& buffer() const { return buf_; }

  // Reads and consumes one response head. A connection closed before any
  // byte arrived is Errc::unavailable with sys_errno = EPIPE (the caller may
  // retry a request that went out on a reused idle connection).
  Result<api::HttpHead> read_response_head();
  Status shutdown_write();

 private:
  explicit Conn(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  std::string buf_;
};

// Incremental decoder of one response body on a Conn: Content-Length,
// chunked, or until the peer closes.
class BodyReader {
 public:
  BodyReader() = default;
  // Picks the framing from the head (`request_method` HEAD and statuses
  // 1xx/204/304 have no body).
  static BodyReader for_response(const api::HttpHead& head, std::string_view request_method);

  // Appends decoded bytes (possibly none) to *out after reading from the
  // connection at most once when nothing is buffered. Returns false once the
  // body is complete (the last bytes may have been appended by that call).
  Result<bool> read(Conn& conn, std::string* out);
  bool done() const { return mode_ == Mode::none || done_; }
  // True when the body ended at its framing (the connection is reusable).
  bool reusable() const { return mode_ != Mode::until_close; }

 private:
  enum class Mode { none, length, chunked, until_close };
  Mode mode_ = Mode::none;
  uint64_t remaining_ = 0;
  api::ChunkedDecoder chunked_;
  bool done_ = false;
};

}  // namespace berth::client
