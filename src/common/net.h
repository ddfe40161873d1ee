// Outbound sockets by "host:port" (a literal IPv6 host in brackets).
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::net {

// A socket of `type` (SOCK_STREAM, SOCK_DGRAM) connected to the first
// address of hostport that accepts; errors read as Go's
// "dial tcp HOST:PORT: connect: …".
Result<UniqueFd> dial(const std::string& hostport, int type);

}  // namespace berth::net
