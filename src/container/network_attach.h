// The container side of networking: which sandbox a container's
// HostConfig.NetworkMode, NetworkingConfig and PortBindings ask for, and
// the checks done at create time. Pure except for the network lookups.
#pragma once

#include <string>

#include "common/json.h"
#include "common/result.h"
#include "network/service.h"

namespace berth::container {

enum class NetKind { bridge, host, none, container, custom };
struct NetMode {
  NetKind kind = NetKind::bridge;
  std::string target;  // network name (bridge/custom) or container reference
};
NetMode parse_network_mode(const std::string& mode);  // "default" → bridge

// Checks of create: network exists, static IPs only on user networks,
// port specs well formed.
Status check_networking(const Json& host_config, const Json& networking_config, network::NetworkService* nets);

// The sandbox request for a bridge/custom mode container.
Result<network::SandboxRequest> sandbox_request(const std::string& id, const std::string& name,
                                                const Json& config, const Json& host_config,
                                                const Json& networking_config);

}  // namespace berth::container
