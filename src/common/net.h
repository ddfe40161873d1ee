// Outbound sockets by "host:port" (a literal IPv6 host in brackets).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::net {

// "host:port" / "[v6]:port" → host (brackets dropped), port; false without ':'.
bool split_hostport(const std::string& hostport, std::string* host, std::string* port);

// A socket of `type` (SOCK_STREAM, SOCK_DGRAM) connected to the first
// address of hostport that accepts; errors read as Go's
// "dial tcp HOST:PORT: connect: …". Resolves names (getaddrinfo).
Result<UniqueFd> dial(const std::string& hostport, int type);

// hostport's addresses for `type`, in getaddrinfo's order, as numeric
// "IP:PORT" ("[IPv6]:PORT"): berthd resolves the log drivers' addresses
// so the static shim never links getaddrinfo (NSS, static dlopen: resident
// text in every shim). Errors as dial's.
Result<std::vector<std::string>> resolve(const std::string& hostport, int type);

// dial() over numeric addresses only (resolve()'s output; no name lookup):
// the first of `addrs` that accepts. `hostport` names the target in errors;
// `addrs` empty means hostport itself, which must then be numeric.
Result<UniqueFd> dial_numeric(const std::string& hostport, const std::vector<std::string>& addrs,
                              int type);

}  // namespace berth::net
