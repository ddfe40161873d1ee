#include "common/net.h"

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace berth::net {

Result<UniqueFd> dial(const std::string& hostport, int type) {
  std::string what = type == SOCK_STREAM ? "dial tcp " : "dial udp ";
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos) return make_error(Errc::invalid, "bad address " + hostport);
  std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = type;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return make_error(Errc::unavailable, what + hostport + ": " + ::gai_strerror(rc));
  std::string err = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) continue;
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    err = std::strerror(errno);
  }
  ::freeaddrinfo(res);
  return make_error(Errc::unavailable, what + hostport + ": connect: " + err);
}

}  // namespace berth::net
