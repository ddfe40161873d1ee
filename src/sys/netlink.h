// A narrow NETLINK_ROUTE facade: links (bridge, veth, macvlan), addresses
// and routes, over a raw socket. A socket works in the network namespace it
// was created in; open one inside a namespace with sys::in_netns.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::sys {

// An IPv4 or IPv6 address in network byte order.
struct IpAddr {
  int family = AF_INET;
  std::array<uint8_t, 16> bytes{};
  static std::optional<IpAddr> parse(std::string_view s);
  static IpAddr v4(uint32_t host_order);
  uint32_t v4_host_order() const;
  size_t len() const { return family == AF_INET ? 4 : 16; }
  std::string str() const;
};

class Netlink {
 public:
  static Result<Netlink> open();

  // 0 when no such link.
  Result<int> link_index(const std::string& name);
  Status create_bridge(const std::string& name, int mtu);
  // Creates host/peer; the peer is moved to netns_fd (when >= 0) at once.
  Status create_veth(const std::string& host, const std::string& peer, int peer_netns_fd, int mtu);
  // A container's veth in one request: the host end enslaved to `master`
  // (when > 0), the peer created directly in peer_netns_fd under its final
  // name, with its MAC address. Both ends are still down (the kernel
  // cannot open a veth inside the request that creates the pair).
  struct VethSpec {
    std::string host, peer;
    int peer_netns_fd = -1;
    int mtu = 0;
    int master = 0;
    std::optional<std::array<uint8_t, 6>> peer_mac;
  };
  Status create_veth(const VethSpec& v);
  // macvlan in bridge mode on parent, created directly in netns_fd.
  Status create_macvlan(const std::string& name, int parent_index, int netns_fd, int mtu);
  Status set_master(int index, int master_index);
  Status set_up(int index);
  Status set_name(int index, const std::string& name);
  Status set_mac(int index, const std::array<uint8_t, 6>& mac);
  Status set_mtu(int index, int mtu);
  Status set_hairpin(int index, bool on);
  Status delete_link(int index);
  Status add_addr(int index, const IpAddr& a, int prefix);
  // Default route via gw (nullopt gw: device route).
  Status add_default_route(const IpAddr& gw, int index);
  // The MAC address of a link.
  Result<std::array<uint8_t, 6>> mac(int index);

 private:
  explicit Netlink(UniqueFd fd) : fd_(std::move(fd)) {}
  Status request(void* msg, size_t len, const char* what);
  UniqueFd fd_;
  uint32_t seq_ = 1;
};

std::string mac_str(const std::array<uint8_t, 6>& m);
std::optional<std::array<uint8_t, 6>> parse_mac(std::string_view s);

}  // namespace berth::sys
