#include "api/http_wire.h"

#include "common/strings.h"

namespace berth::api {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

Error bad(std::string m) { return make_error(Errc::invalid, std::move(m)); }

// Finds the end of the head; returns position after "\r\n\r\n" (or
// "\n\n"), 0 if incomplete.
size_t head_end(std::string_view buf) {
  for (size_t i = 0; i < buf.size(); ++i) {
    if (buf[i] != '\n') continue;
    if (i + 1 < buf.size() && buf[i + 1] == '\n') return i + 2;
    if (i + 2 < buf.size() && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
  }
  return 0;
}

Status parse_headers(std::string_view lines, std::vector<Header>* out) {
  while (!lines.empty()) {
    size_t eol = lines.find('\n');
    std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol == std::string_view::npos ? lines.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return bad("malformed HTTP header");
    std::string_view name = line.substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) return bad("malformed HTTP header name");
    out->push_back({std::string(name), std::string(str::trim(line.substr(colon + 1)))});
  }
  return ok();
}

Result<std::pair<std::string_view, std::string_view>> first_line(std::string_view buf, size_t end) {
  std::string_view head = buf.substr(0, end);
  size_t eol = head.find('\n');
  std::string_view line = head.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return std::make_pair(line, head.substr(eol + 1));
}

}  // namespace

const std::string* HttpHead::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

Result<size_t> parse_request_head(std::string_view buf, HttpHead* out) {
  // Tolerate stray CRLFs between pipelined requests (RFC 7230 §3.5).
  size_t skip = 0;
  while (skip < buf.size() && (buf[skip] == '\r' || buf[skip] == '\n')) ++skip;
  std::string_view b = buf.substr(skip);
  size_t end = head_end(b);
  if (end == 0) {
    if (b.size() > kMaxHeadBytes) return bad("request header too large");
    return size_t{0};
  }
  if (end > kMaxHeadBytes) return bad("request header too large");
  auto [line, rest] = BERTH_TRY(first_line(b, end));
  auto parts = str::split(line, ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
      !str::starts_with(parts[2], "HTTP/1."))
    return bad("malformed HTTP request line");
  out->method = parts[0];
  out->target = parts[1];
  out->version = parts[2];
  out->headers.clear();
  BERTH_TRY_VOID(parse_headers(rest, &out->headers));
  return skip + end;
}

Result<size_t> parse_response_head(std::string_view buf, HttpHead* out) {
  size_t end = head_end(buf);
  if (end == 0) {
    if (buf.size() > kMaxHeadBytes) return bad("response header too large");
    return size_t{0};
  }
  auto [line, rest] = BERTH_TRY(first_line(buf, end));
  // "HTTP/1.1 200 OK" (reason may contain spaces or be empty)
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || !str::starts_with(line, "HTTP/1."))
    return bad("malformed HTTP status line");
  out->version = std::string(line.substr(0, sp1));
  std::string_view rest_line = line.substr(sp1 + 1);
  size_t sp2 = rest_line.find(' ');
  auto code = str::parse_int(rest_line.substr(0, sp2));
  if (!code || *code < 100 || *code > 999) return bad("malformed HTTP status code");
  out->status = static_cast<int>(*code);
  out->reason = sp2 == std::string_view::npos ? "" : std::string(rest_line.substr(sp2 + 1));
  out->headers.clear();
  BERTH_TRY_VOID(parse_headers(rest, &out->headers));
  return end;
}

Result<size_t> ChunkedDecoder::feed(std::string_view in, std::string* out) {
  size_t used = 0;
  while (used < in.size() && state_ != State::done) {
    switch (state_) {
      case State::size:
      case State::trailer:
      case State::data_crlf: {
        size_t eol = in.find('\n', used);
        if (eol == std::string_view::npos) {
          line_.append(in.substr(used));
          if (line_.size() > 4096) return bad("malformed chunked encoding");
          return in.size();
        }
        line_.append(in.substr(used, eol - used));
        used = eol + 1;
        std::string line = std::move(line_);
        line_.clear();
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (state_ == State::data_crlf) {
          if (!line.empty()) return bad("malformed chunked encoding: missing CRLF after chunk");
          state_ = State::size;
        } else if (state_ == State::trailer) {
          if (line.empty()) state_ = State::done;
        } else {
          size_t semi = line.find(';');
          std::string_view hex = str::trim(std::string_view(line).substr(0, semi));
          if (hex.empty() || hex.size() > 15) return bad("malformed chunk size");
          uint64_t n = 0;
          for (char c : hex) {
            int v = (c >= '0' && c <= '9')   ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
            if (v < 0) return bad("malformed chunk size");
            n = n * 16 + static_cast<uint64_t>(v);
          }
          remaining_ = n;
          state_ = n == 0 ? State::trailer : State::data;
        }
        break;
      }
      case State::data: {
        size_t take = std::min<uint64_t>(remaining_, in.size() - used);
        out->append(in.substr(used, take));
        used += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::data_crlf;
        break;
      }
      case State::done:
        break;
    }
  }
  return used;
}

std::string chunk(std::string_view data) {
  char hex[32];
  int n = std::snprintf(hex, sizeof hex, "%zx\r\n", data.size());
  std::string out;
  out.reserve(static_cast<size_t>(n) + data.size() + 2);
  out.append(hex, static_cast<size_t>(n));
  out.append(data);
  out.append("\r\n");
  return out;
}

void append_stdcopy_frame(std::string* out, StdStream stream, std::string_view payload) {
  uint32_t n = static_cast<uint32_t>(payload.size());
  char h[8] = {static_cast<char>(stream), 0, 0, 0, static_cast<char>(n >> 24),
               static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(h, 8);
  out->append(payload);
}

std::string stdcopy_frame(StdStream stream, std::string_view payload) {
  std::string out;
  out.reserve(8 + payload.size());
  append_stdcopy_frame(&out, stream, payload);
  return out;
}

Status StdcopyDecoder::feed(std::string_view in, const Sink& sink) {
  buf_.append(in);
  size_t pos = 0;
  while (buf_.size() - pos >= 8) {
    auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(buf_[pos + i])); };
    uint32_t stream = u(0);
    if (stream > 3) return bad("unrecognized input header: " + std::to_string(stream));
    uint32_t n = (u(4) << 24) | (u(5) << 16) | (u(6) << 8) | u(7);
    if (buf_.size() - pos - 8 < n) break;
    sink(static_cast<StdStream>(stream), std::string_view(buf_).substr(pos + 8, n));
    pos += 8 + n;
  }
  buf_.erase(0, pos);
  return ok();
}

Result<VersionedPath> split_target(std::string_view target) {
  VersionedPath out;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  if (path.size() > 2 && path[0] == '/' && path[1] == 'v' && path[2] >= '0' && path[2] <= '9') {
    size_t slash = path.find('/', 1);
    std::string_view ver = path.substr(2, slash == std::string_view::npos ? std::string_view::npos : slash - 2);
    size_t dot = ver.find('.');
    auto maj = str::parse_int(ver.substr(0, dot));
    auto min = dot == std::string_view::npos ? std::optional<int64_t>(0) : str::parse_int(ver.substr(dot + 1));
    if (!maj || !min || *maj < 0 || *min < 0 || *maj > 1000 || *min > 1000)
      return bad("invalid API version in path: " + std::string(ver));
    out.version = ApiVersion{static_cast<int>(*maj), static_cast<int>(*min)};
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  out.path = str::url_decode(path);
  // url_decode turns '+' into ' ' which is right for queries but not paths.
  if (path.find('+') != std::string_view::npos) {
    std::string p;
    for (size_t i = 0; i < path.size(); ++i) {
      if (path[i] == '%' && i + 2 < path.size()) {
        p += str::url_decode(path.substr(i, 3));
        i += 2;
      } else {
        p += path[i];
      }
    }
    out.path = p;
  }
  return out;
}

Status check_api_version(const ApiVersion& v) {
  if (v > kMaxApiVersion)
    return bad("client version " + v.str() + " is too new. Maximum supported API version is " +
               kMaxApiVersion.str());
  if (v < kMinApiVersion)
    return bad("client version " + v.str() + " is too old. Minimum supported API version is " +
               kMinApiVersion.str() + ", please upgrade your client to a newer version");
  return ok();
}

Query parse_query(std::string_view raw) {
  Query q;
  if (raw.empty()) return q;
  for (const auto& part : str::split(raw, '&')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string::npos)
      q.emplace_back(str::url_decode(part), "");
    else
      q.emplace_back(str::url_decode(std::string_view(part).substr(0, eq)),
                     str::url_decode(std::string_view(part).substr(eq + 1)));
  }
  return q;
}

std::optional<std::string> query_get(const Query& q, std::string_view key) {
  for (const auto& [k, v] : q)
    if (k == key) return v;
  return std::nullopt;
}

std::vector<std::string> query_all(const Query& q, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& [k, v] : q)
    if (k == key) out.push_back(v);
  return out;
}

std::string_view status_reason(int code) {
  switch (code) {
    case 100: return "Continue";
    case 101: return "UPGRADED";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace berth::api
