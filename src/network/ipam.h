// IPv4 and IPv6 address management: subnets, pools, gateways, ranges and the
// allocation of addresses within one network. Pure; no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::network {

struct Cidr4 {
  uint32_t addr = 0;  // host order; the network address when normalised
  int prefix = 0;
  static Result<Cidr4> parse(std::string_view s);  // "10.1.0.0/24"
  uint32_t mask() const { return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix); }
  uint32_t network() const { return addr & mask(); }
  uint32_t broadcast() const { return network() | ~mask(); }
  bool contains(uint32_t a) const { return (a & mask()) == network(); }
  bool overlaps(const Cidr4& o) const;
  std::string str() const;  // "10.1.0.0/24" (the network address)
};

std::optional<uint32_t> parse_ipv4(std::string_view s);
std::string ipv4_str(uint32_t a);

// One IPAM config entry of a network, validated.
struct Pool {
  Cidr4 subnet;
  uint32_t gateway = 0;
  std::optional<Cidr4> ip_range;
  std::vector<std::pair<std::string, uint32_t>> aux;  // name → address
};

// Docker's checks on a network create's IPAM Config entry (subnet, gateway,
// ip range, aux addresses). gateway "" → the first address of the subnet.
Result<Pool> make_pool(const std::string& subnet, const std::string& gateway,
                       const std::string& ip_range,
                       const std::vector<std::pair<std::string, std::string>>& aux);

// The next free address of the pool (within ip_range when given), skipping
// network, broadcast, gateway, aux addresses and `used`.
Result<uint32_t> allocate(const Pool& p, const std::set<uint32_t>& used);
// Checks a requested static address.
Status check_static(const Pool& p, uint32_t a, const std::set<uint32_t>& used);

// A default address pool ("base=10.210.0.0/16,size=24").
struct AddressPool {
  Cidr4 base;
  int size = 24;
};
Result<AddressPool> parse_address_pool(std::string_view spec);
// The first subnet of the pools that overlaps none of `taken`.
Result<Cidr4> pick_subnet(const std::vector<AddressPool>& pools, const std::vector<Cidr4>& taken);
// IPv4 routes of the host (from /proc/net/route text).
std::vector<Cidr4> parse_proc_net_route(std::string_view text);

// ---- IPv6: addresses as one 128-bit integer (host order).
__extension__ typedef unsigned __int128 U128;

std::optional<U128> parse_ipv6(std::string_view s);
std::string ipv6_str(U128 a);
std::array<uint8_t, 16> ipv6_bytes(U128 a);  // network order
U128 ipv6_from_bytes(const uint8_t* b);

struct Cidr6 {
  U128 addr = 0;
  int prefix = 0;
  static Result<Cidr6> parse(std::string_view s);  // "fd00:1::/64"
  U128 mask() const { return prefix == 0 ? 0 : ~U128{0} << (128 - prefix); }
  U128 network() const { return addr & mask(); }
  U128 last() const { return network() | ~mask(); }
  bool contains(U128 a) const { return (a & mask()) == network(); }
  bool overlaps(const Cidr6& o) const;
  std::string str() const;
};

struct Pool6 {
  Cidr6 subnet;
  U128 gateway = 0;
  std::optional<Cidr6> ip_range;
  std::vector<std::pair<std::string, U128>> aux;
};

// Docker's checks for an IPv6 IPAM Config entry; gateway "" → subnet's
// first address.
Result<Pool6> make_pool6(const std::string& subnet, const std::string& gateway, const std::string& ip_range,
                         const std::vector<std::pair<std::string, std::string>>& aux);
// The next free address (within ip_range when given), skipping the subnet
// router anycast address, the gateway, aux addresses and `used`.
Result<U128> allocate6(const Pool6& p, const std::set<U128>& used);
Status check_static6(const Pool6& p, U128 a, const std::set<U128>& used);

}  // namespace berth::network
