#include "client/conn.h"

#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "common/strings.h"

namespace berth::client {

namespace {

Error cannot_connect(const Host& h, int e) {
  Error err{Errc::unavailable, e,
            "Cannot connect to the berth daemon at " + h.url + ". Is the berth daemon running?"};
  return err;
}

}  // namespace

Result<Host> parse_host(std::string_view s) {
  Host h;
  s = str::trim(s);
  if (s.empty()) s = kDefaultHost;
  if (str::starts_with(s, "unix://") || str::starts_with(s, "/")) {
    std::string_view p = str::starts_with(s, "unix://") ? s.substr(7) : s;
    if (p.empty()) return make_error(Errc::invalid, "invalid bind address (" + std::string(s) + "): empty unix socket path");
    h.kind = Host::Kind::unix_socket;
    h.path = std::string(p);
    h.url = "unix://" + h.path;
    return h;
  }
  if (str::starts_with(s, "tcp://")) {
    std::string_view hp = s.substr(6);
    if (size_t slash = hp.find('/'); slash != std::string_view::npos) hp = hp.substr(0, slash);
    std::string_view host, port;
    if (!hp.empty() && hp.front() == '[') {
      size_t close = hp.find(']');
      if (close == std::string_view::npos) return make_error(Errc::invalid, "invalid bind address (" + std::string(s) + ")");
      host = hp.substr(1, close - 1);
      std::string_view rest = hp.substr(close + 1);
      if (!rest.empty()) {
        if (rest.front() != ':') return make_error(Errc::invalid, "invalid bind address (" + std::string(s) + ")");
        port = rest.substr(1);
      }
    } else {
      size_t colon = hp.rfind(':');
      host = hp.substr(0, colon);
      if (colon != std::string_view::npos) port = hp.substr(colon + 1);
    }
    if (host.empty()) host = "127.0.0.1";
    if (port.empty()) port = "2375";
    auto pn = str::parse_int(port);
    if (!pn || *pn <= 0 || *pn > 65535)
      return make_error(Errc::invalid, "invalid bind address (" + std::string(s) + "): invalid port");
    h.kind = Host::Kind::tcp;
    h.host = std::string(host);
    h.port = std::string(port);
    bool v6 = h.host.find(':') != std::string::npos;
    h.url = "tcp://" + (v6 ? "[" + h.host + "]" : h.host) + ":" + h.port;
    return h;
  }
  return make_error(Errc::invalid, "unsupported protocol in host " + std::string(s) +
                                       " (use unix:///path or tcp://host:port)");
}

Result<Conn> Conn::dial(const Host& h) {
  if (h.kind == Host::Kind::unix_socket) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (h.path.size() >= sizeof addr.sun_path)
      return make_error(Errc::invalid, "unix socket path too long: " + h.path);
    std::memcpy(addr.sun_path, h.path.data(), h.path.size());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return sys_error("socket");
    int r;
    do r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    while (r < 0 && errno == EINTR);
    if (r < 0) return cannot_connect(h, errno);
    return Conn(std::move(fd));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int gai = ::getaddrinfo(h.host.c_str(), h.port.c_str(), &hints, &res);
  if (gai != 0) {
    Error e = cannot_connect(h, 0);
    e.msg += " (" + std::string(gai_strerror(gai)) + ")";
    return e;
  }
  int last = ECONNREFUSED;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      last = errno;
      continue;
    }
    int r;
    do r = ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
      ::freeaddrinfo(res);
      int one = 1;
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return Conn(std::move(fd));
    }
    last = errno;
  }
  ::freeaddrinfo(res);
  return cannot_connect(h, last);
}

Status Conn::write_all(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write to daemon");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Result<size_t> Conn::fill() {
  char tmp[65536];
  for (;;) {
    ssize_t n = ::read(fd_.get(), tmp, sizeof tmp);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read from daemon");
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return static_cast<size_t>(n);
  }
}

Result<api::HttpHead> Conn::read_response_head() {
  api::HttpHead head;
  for (;;) {
    if (!buf_.empty()) {
      size_t used = BERTH_TRY(api::parse_response_head(buf_, &head));
      if (used > 0) {
        buf_.erase(0, used);
        // Skip interim 100 Continue responses.
        if (head.status == 100) {
          head = api::HttpHead{};
          continue;
        }
        return head;
      }
    }
    bool had = !buf_.empty();
    auto n = fill();
    if (!n) {
      if (!had && (n.error().sys_errno == ECONNRESET || n.error().sys_errno == EPIPE))
        return Error{Errc::unavailable, EPIPE, "connection closed by the daemon"};
      return std::move(n).error();
    }
    if (*n == 0) {
      if (!had) return Error{Errc::unavailable, EPIPE, "connection closed by the daemon"};
      return make_error(Errc::unavailable, "daemon closed the connection in the middle of a response");
    }
  }
}

Status Conn::shutdown_write() {
  if (::shutdown(fd_.get(), SHUT_WR) < 0 && errno != ENOTCONN) return sys_error("shutdown");
  return ok();
}

BodyReader BodyReader::for_response(const api::HttpHead& head, std::string_view request_method) {
  BodyReader r;
  if (request_method == "HEAD" || head.status / 100 == 1 || head.status == 204 || head.status == 304) {
    r.mode_ = Mode::none;
    return r;
  }
  if (const auto* te = head.header("Transfer-Encoding"); te && str::to_lower(*te).find("chunked") != std::string::npos) {
    r.mode_ = Mode::chunked;
    return r;
  }
  if (const auto* cl = head.header("Content-Length")) {
    auto n = str::parse_int(str::trim(*cl));
    if (n && *n >= 0) {
      r.mode_ = *n == 0 ? Mode::none : Mode::length;
      r.remaining_ = static_cast<uint64_t>(*n);
      return r;
    }
  }
  r.mode_ = Mode::until_close;
  return r;
}

Result<bool> BodyReader::read(Conn& conn, std::string* out) {
  if (done()) return false;
  if (conn.buffer().empty()) {
    size_t n = BERTH_TRY(conn.fill());
    if (n == 0) {
      if (mode_ == Mode::until_close) {
        done_ = true;
        return false;
      }
      return make_error(Errc::unavailable, "unexpected EOF from the daemon in the middle of a response body");
    }
  }
  std::string& buf = conn.buffer();
  switch (mode_) {
    case Mode::length: {
      size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, buf.size()));
      out->append(buf, 0, take);
      buf.erase(0, take);
      remaining_ -= take;
      if (remaining_ == 0) done_ = true;
      break;
    }
    case Mode::chunked: {
      size_t used = BERTH_TRY(chunked_.feed(buf, out));
      buf.erase(0, used);
      if (chunked_.done()) done_ = true;
      break;
    }
    case Mode::until_close:
      out->append(buf);
      buf.clear();
      break;
    case Mode::none:
      done_ = true;
      break;
  }
  return !done_;
}

}  // namespace berth::client
