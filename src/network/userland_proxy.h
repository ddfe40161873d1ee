// Published ports the kernel cannot DNAT: an address on the IPv6 loopback
// ([::1]) has no route_localnet, so a reply from the container could never
// be routed back, and nftables cannot NAT an IPv6 address to the IPv4
// address of a container without IPv6 ([::], the twin of every `-p` without
// an address). For those, as Docker's docker-proxy does, berthd runs one
// berth-proxy process per host address:port/proto that copies connections
// (TCP) or datagrams (UDP) to the container's address.
//
// Live restore: the proxy runs in its own session, not as berthd's child,
// so it keeps answering while berthd restarts; berthd records its pid and
// start time with the sandbox, adopts it again on reconcile (or starts a
// new one if it died), and stops it with the sandbox.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::network {

struct ProxyProcess {
  pid_t pid = 0;
  uint64_t start_time = 0;  // /proc/PID/stat field 22: pid reuse is never signalled
};

struct ProxySpec {
  std::string proto;  // tcp | udp
  std::string host_ip;
  int host_port = 0;
  std::string container_ip;
  int container_port = 0;
  std::string container_id;  // passed as -container-id (ps, cleanup)
};

// Starts `binary` detached with `listen` (bound, and listening for TCP) as
// its socket; berthd's copy may be closed afterwards.
Result<ProxyProcess> start_proxy(const std::string& binary, const ProxySpec& spec, const UniqueFd& listen);
bool proxy_alive(const ProxyProcess& p);
// SIGTERM (through a pidfd, checked against the start time); waits up to
// ~1 s for it to go so the host port is free when this returns.
void stop_proxy(const ProxyProcess& p);

}  // namespace berth::network
