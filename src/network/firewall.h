// berth's firewall state: one nftables table per daemon and family (`ip
// <table>`, and `ip6 <table>` for IPv6 networks and ports),
// rendered as a whole from the networks and published ports and applied in
// one libnftables transaction (delete + recreate), so a restart never
// duplicates rules and `nft list table ip <table>` shows all of it.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace berth::network {

struct FwNetwork {
  std::string bridge;  // interface name
  std::string subnet;  // "10.1.0.0/24"
  bool internal = false;
  bool masquerade = true;
  std::string subnet6;  // "" when the network has no IPv6
};

struct FwPort {
  std::string proto;    // tcp | udp
  std::string host_ip;  // "" or "0.0.0.0" (or "::") = every local address
                        // an IPv6 container_ip makes it an ip6 rule
  int host_port = 0;
  std::string container_ip;
  int container_port = 0;
};

// Pure: the nft script (one transaction that replaces both tables).
std::string render_ruleset(const std::string& table, const std::vector<FwNetwork>& nets,
                           const std::vector<FwPort>& ports);
// Deletes both tables (missing is fine).
std::string render_delete(const std::string& table);

// Runs an nft script through libnftables as one transaction. libnftables
// is loaded on the first call and stays loaded until nft_release().
Status nft_apply(const std::string& script);
// Unloads libnftables (the daemon calls it once its start-up transaction is
// done, so an idle daemon does not keep it mapped); the next nft_apply
// loads it again.
void nft_release();

}  // namespace berth::network
