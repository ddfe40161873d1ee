// berth's firewall state: one nftables table per daemon (`ip <table>`),
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
};

struct FwPort {
  std::string proto;    // tcp | udp
  std::string host_ip;  // "" or "0.0.0.0" = every local address
  int host_port = 0;
  std::string container_ip;
  int container_port = 0;
};

// Pure: the nft script (a transaction that replaces the table).
std::string render_ruleset(const std::string& table, const std::vector<FwNetwork>& nets,
                           const std::vector<FwPort>& ports);
// Deletes the table (missing is fine).
std::string render_delete(const std::string& table);

// Runs an nft script through libnftables as one transaction.
Status nft_apply(const std::string& script);

}  // namespace berth::network
