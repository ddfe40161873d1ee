// HTTP/1.1 and Docker stream wire primitives shared by berthd's server and
// the berth client: message heads, chunked transfer coding, Docker's stdcopy
// multiplexing, and API version path rules. Pure functions over buffers; no
// I/O here.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace berth::api {

struct Header {
  std::string name;
  std::string value;
};

struct HttpHead {
  // Request line.
  std::string method;
  std::string target;  // path + optional ?query
  std::string version = "HTTP/1.1";
  // Status line.
  int status = 0;
  std::string reason;
  std::vector<Header> headers;

  // Case-insensitive lookup; nullptr when absent.
  const std::string* header(std::string_view name) const;
};

constexpr size_t kMaxHeadBytes = 64 * 1024;

// Incremental head parsing: returns the number of bytes the head occupies
// (through the blank line) once `buf` holds a complete head, 0 when more
// bytes are needed, or Errc::invalid when malformed or larger than
// kMaxHeadBytes.
Result<size_t> parse_request_head(std::string_view buf, HttpHead* out);
Result<size_t> parse_response_head(std::string_view buf, HttpHead* out);

// Decodes a chunked body incrementally. feed() appends decoded bytes to
// *out and returns how many input bytes it consumed; bytes past the end of
// the body are not consumed.
class ChunkedDecoder {
 public:
  Result<size_t> feed(std::string_view in, std::string* out);
  bool done() const { return state_ == State::done; }

 private:
  enum class State { size, data, data_crlf, trailer, done };
  State state_ = State::size;
  uint64_t remaining_ = 0;
  std::string line_;
};

// One chunk frame; chunk("") is invalid (use kLastChunk to terminate).
std::string chunk(std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Docker stdcopy: 8-byte header [stream, 0, 0, 0, big-endian uint32 length].
enum class StdStream : uint8_t { stdin_ = 0, stdout_ = 1, stderr_ = 2, system = 3 };
std::string stdcopy_frame(StdStream stream, std::string_view payload);
void append_stdcopy_frame(std::string* out, StdStream stream, std::string_view payload);

class StdcopyDecoder {
 public:
  using Sink = std::function<void(StdStream, std::string_view)>;
  // Emits each complete frame's payload; keeps partial frames buffered.
  Status feed(std::string_view in, const Sink& sink);
  bool idle() const { return buf_.empty(); }

 private:
  std::string buf_;
};

// API versions.
struct ApiVersion {
  int major = 1;
  int minor = 41;
  friend auto operator<=>(const ApiVersion&, const ApiVersion&) = default;
  std::string str() const { return std::to_string(major) + "." + std::to_string(minor); }
};
inline constexpr ApiVersion kMaxApiVersion{1, 41};
inline constexpr ApiVersion kMinApiVersion{1, 12};

struct VersionedPath {
  std::optional<ApiVersion> version;  // absent for unversioned paths
  std::string path;                   // without the /vX.Y prefix and without the query
  std::string query;                  // raw query string (after '?'), may be empty
};
// "/v1.41/containers/json?all=1" → {1.41, "/containers/json", "all=1"}.
// A malformed version ("/v1.x/...") is Errc::invalid.
Result<VersionedPath> split_target(std::string_view target);
// Docker's checks: too new → "client version 1.50 is too new. Maximum
// supported API version is 1.41"; too old → "client version 1.11 is too
// old. Minimum supported API version is 1.12, please upgrade your client to
// a newer version". Both Errc::invalid (HTTP 400).
Status check_api_version(const ApiVersion& v);

// Query strings: key → values in order (repeated keys kept).
using Query = std::vector<std::pair<std::string, std::string>>;
Query parse_query(std::string_view raw);
std::optional<std::string> query_get(const Query& q, std::string_view key);
std::vector<std::string> query_all(const Query& q, std::string_view key);

std::string_view status_reason(int code);

}  // namespace berth::api
