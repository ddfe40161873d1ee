// getaddrinfo, apart from net.cc: see there.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/net.h"

namespace berth::net {

Result<std::vector<std::string>> resolve(const std::string& hostport, int type) {
  std::string host, port;
  if (!split_hostport(hostport, &host, &port)) return make_error(Errc::invalid, "bad address " + hostport);
  addrinfo hints{};
  hints.ai_socktype = type;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  const std::string what = type == SOCK_STREAM ? "dial tcp " : "dial udp ";
  // Go's wording for a name that does not exist ("dial udp: lookup HOST on
  // SERVER: no such host", without the server, which glibc does not tell).
  if (rc == EAI_NONAME)
    return make_error(Errc::unavailable, what.substr(0, what.size() - 1) + ": lookup " + host + ": no such host");
  if (rc != 0) return make_error(Errc::unavailable, what + hostport + ": " + ::gai_strerror(rc));
  std::vector<std::string> out;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    char ip[INET6_ADDRSTRLEN];
    uint16_t p = 0;
    if (ai->ai_family == AF_INET) {
      auto* a = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
      if (!::inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip)) continue;
      p = ntohs(a->sin_port);
      out.push_back(std::string(ip) + ":" + std::to_string(p));
    } else if (ai->ai_family == AF_INET6) {
      auto* a = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
      if (!::inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip)) continue;
      p = ntohs(a->sin6_port);
      out.push_back("[" + std::string(ip) + "]:" + std::to_string(p));
    }
  }
  ::freeaddrinfo(res);
  if (out.empty()) return make_error(Errc::unavailable, what + hostport + ": no address");
  return out;
}

Result<UniqueFd> dial(const std::string& hostport, int type) {
  auto addrs = BERTH_TRY(resolve(hostport, type));
  return dial_numeric(hostport, addrs, type);
}

}  // namespace berth::net
