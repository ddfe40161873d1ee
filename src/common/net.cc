#include "common/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace berth::net {

// Numeric addresses only. getaddrinfo lives in net_resolve.cc: a static
// link that never calls resolve()/dial() (berth-shim) does not pull glibc's
// getaddrinfo.o, NSS and static dlopen out of libc.a.

namespace {

std::string what_of(int type) { return type == SOCK_STREAM ? "dial tcp " : "dial udp "; }

// A numeric "IP:PORT" / "[IPv6]:PORT" as a sockaddr; false if not numeric.
bool numeric_sockaddr(const std::string& hostport, sockaddr_storage* ss, socklen_t* len) {
  std::string host, port;
  if (!split_hostport(hostport, &host, &port) || port.empty() || port.size() > 5) return false;
  unsigned p = 0;
  for (char ch : port) {
    if (ch < '0' || ch > '9') return false;
    p = p * 10 + static_cast<unsigned>(ch - '0');
  }
  if (p > 65535) return false;
  std::memset(ss, 0, sizeof *ss);
  auto* v4 = reinterpret_cast<sockaddr_in*>(ss);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(p));
    *len = sizeof *v4;
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(ss);
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(p));
    *len = sizeof *v6;
    return true;
  }
  return false;
}

}  // namespace

bool split_hostport(const std::string& hostport, std::string* host, std::string* port) {
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos) return false;
  *host = hostport.substr(0, colon);
  *port = hostport.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[') *host = host->substr(1, host->size() - 2);
  return true;
}


Result<UniqueFd> dial_numeric(const std::string& hostport, const std::vector<std::string>& addrs,
                              int type) {
  const std::string what = what_of(type);
  std::vector<std::string> self;
  if (addrs.empty()) self.push_back(hostport);
  std::string err = "no address";
  for (const auto& a : addrs.empty() ? self : addrs) {
    sockaddr_storage ss;
    socklen_t len = 0;
    if (!numeric_sockaddr(a, &ss, &len))
      return make_error(Errc::unavailable, what + hostport + ": " + a + " is not a numeric address");
    UniqueFd fd(::socket(ss.ss_family, type | SOCK_CLOEXEC, 0));
    if (!fd) {
      err = std::strerror(errno);
      continue;
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) == 0) return fd;
    err = std::strerror(errno);
  }
  return make_error(Errc::unavailable, what + hostport + ": connect: " + err);
}

}  // namespace berth::net
