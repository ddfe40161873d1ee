// berth-proxy's relays: the userland side of a published port that the
// kernel cannot DNAT (an IPv6 loopback address such as [::1] has no
// route_localnet, so the reply could never be routed back). Like Docker's
// docker-proxy, one process serves one host address:port/proto and copies
// bytes to the container's address. TCP: a thread per direction per
// connection, splice(2) through a pipe (no copy to user space), half-close
// passed on. UDP: one socket towards the container per client address,
// replies sent back from the listening socket, idle flows dropped after
// 90 s (docker-proxy's conntrack timeout).
#pragma once

#include <sys/socket.h>

#include <string>

#include "common/result.h"

namespace berth::proxy {

struct Target {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

// "10.0.0.2" / "fd00::2" + port → socket address.
Result<Target> parse_target(const std::string& ip, int port);

// Serve forever (until the process is signalled) on an already bound (TCP:
// listening) socket. Only errors of the listening socket return.
Status serve_tcp(int listen_fd, const Target& to);
Status serve_udp(int fd, const Target& to, int idle_timeout_ms = 90000);

}  // namespace berth::proxy
