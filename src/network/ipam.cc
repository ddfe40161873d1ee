#include "network/ipam.h"

#include <arpa/inet.h>

#include "common/strings.h"

namespace berth::network {

namespace {
Error invalid(std::string m) { return make_error(Errc::invalid, std::move(m)); }
}  // namespace

std::optional<uint32_t> parse_ipv4(std::string_view s) {
  in_addr a{};
  std::string z(s);
  if (::inet_pton(AF_INET, z.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string ipv4_str(uint32_t a) {
  in_addr n{htonl(a)};
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &n, buf, sizeof buf);
  return buf;
}

Result<Cidr4> Cidr4::parse(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return invalid("invalid CIDR address: " + std::string(s));
  auto a = parse_ipv4(s.substr(0, slash));
  auto p = str::parse_int(s.substr(slash + 1));
  if (!a || !p || *p < 0 || *p > 32) return invalid("invalid CIDR address: " + std::string(s));
  Cidr4 c;
  c.addr = *a;
  c.prefix = static_cast<int>(*p);
  return c;
}

bool Cidr4::overlaps(const Cidr4& o) const {
  int p = std::min(prefix, o.prefix);
  uint32_t m = p == 0 ? 0 : 0xffffffffu << (32 - p);
  return (addr & m) == (o.addr & m);
}

std::string Cidr4::str() const { return ipv4_str(network()) + "/" + std::to_string(prefix); }

Result<Pool> make_pool(const std::string& subnet, const std::string& gateway, const std::string& ip_range,
                       const std::vector<std::pair<std::string, std::string>>& aux) {
  Pool p;
  p.subnet = BERTH_TRY(Cidr4::parse(subnet));
  if (p.subnet.prefix > 30) return invalid("invalid subnet " + subnet + " : mask length must be at most 30");
  if (!gateway.empty()) {
    auto g = parse_ipv4(gateway);
    if (!g) return invalid("invalid gateway address: " + gateway);
    if (!p.subnet.contains(*g))
      return invalid("no matching subnet for gateway " + gateway);
    p.gateway = *g;
  } else {
    p.gateway = p.subnet.network() + 1;
  }
  if (!ip_range.empty()) {
    auto r = BERTH_TRY(Cidr4::parse(ip_range));
    if (r.prefix < p.subnet.prefix || !p.subnet.contains(r.network()))
      return invalid("no matching subnet for range " + ip_range);
    p.ip_range = r;
  }
  for (const auto& [name, addr] : aux) {
    auto a = parse_ipv4(addr);
    if (!a) return invalid("invalid auxiliary address " + name + ": " + addr);
    if (!p.subnet.contains(*a)) return invalid("no matching subnet for aux-address " + addr);
    p.aux.emplace_back(name, *a);
  }
  return p;
}

namespace {
bool reserved(const Pool& p, uint32_t a) {
  if (a == p.subnet.network() || a == p.subnet.broadcast() || a == p.gateway) return true;
  for (const auto& x : p.aux)
    if (x.second == a) return true;
  return false;
}
}  // namespace

Result<uint32_t> allocate(const Pool& p, const std::set<uint32_t>& used) {
  const Cidr4& r = p.ip_range ? *p.ip_range : p.subnet;
  for (uint64_t a = r.network(); a <= r.broadcast(); ++a) {
    auto x = static_cast<uint32_t>(a);
    if (reserved(p, x) || used.count(x)) continue;
    return x;
  }
  return make_error(Errc::unavailable, "no available IPv4 addresses on this network's address pools");
}

Status check_static(const Pool& p, uint32_t a, const std::set<uint32_t>& used) {
  if (!p.subnet.contains(a) || a == p.subnet.network() || a == p.subnet.broadcast())
    return invalid("no available IPv4 addresses on this network's address pools: " + ipv4_str(a) +
                   " is not in subnet " + p.subnet.str());
  // Aux addresses are reserved for the driver: as taken as the gateway.
  if (used.count(a) || reserved(p, a))
    return make_error(Errc::conflict, "Address already in use");
  return ok();
}

Result<AddressPool> parse_address_pool(std::string_view spec) {
  AddressPool ap;
  bool have_base = false;
  for (const auto& kv : str::split(spec, ',')) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return invalid("invalid default address pool: " + std::string(spec));
    std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (k == "base") {
      ap.base = BERTH_TRY(Cidr4::parse(v));
      have_base = true;
    } else if (k == "size") {
      auto n = str::parse_int(v);
      if (!n || *n < 1 || *n > 30) return invalid("invalid default address pool size: " + v);
      ap.size = static_cast<int>(*n);
    } else {
      return invalid("invalid default address pool key: " + k);
    }
  }
  if (!have_base) return invalid("default address pool needs a base: " + std::string(spec));
  if (ap.size < ap.base.prefix) return invalid("default address pool size is smaller than its base: " + std::string(spec));
  return ap;
}

Result<Cidr4> pick_subnet(const std::vector<AddressPool>& pools, const std::vector<Cidr4>& taken) {
  for (const auto& ap : pools) {
    uint64_t step = uint64_t{1} << (32 - ap.size);
    uint64_t count = uint64_t{1} << (ap.size - ap.base.prefix);
    for (uint64_t i = 0; i < count && i < 65536; ++i) {
      Cidr4 c;
      c.addr = static_cast<uint32_t>(ap.base.network() + i * step);
      c.prefix = ap.size;
      bool clash = false;
      for (const auto& t : taken)
        if (t.prefix > 0 && c.overlaps(t)) clash = true;
      if (!clash) return c;
    }
  }
  return make_error(Errc::unavailable,
                    "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
}

std::vector<Cidr4> parse_proc_net_route(std::string_view text) {
  std::vector<Cidr4> out;
  auto lines = str::split(text, '\n');
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> f;
    for (const auto& w : str::split(lines[i], '\t'))
      if (!str::trim(w).empty()) f.emplace_back(str::trim(w));
    if (f.size() < 8) continue;
    uint32_t dst = static_cast<uint32_t>(std::stoul(f[1], nullptr, 16));
    uint32_t mask = static_cast<uint32_t>(std::stoul(f[7], nullptr, 16));
    dst = ntohl(dst);
    mask = ntohl(mask);
    if (mask == 0) continue;  // the default route overlaps everything; skip it
    Cidr4 c;
    c.addr = dst;
    c.prefix = __builtin_popcount(mask);
    out.push_back(c);
  }
  return out;
}

// ------------------------------------------------------------------ IPv6

std::optional<U128> parse_ipv6(std::string_view s) {
  in6_addr a{};
  std::string z(s);
  if (::inet_pton(AF_INET6, z.c_str(), &a) != 1) return std::nullopt;
  return ipv6_from_bytes(a.s6_addr);
}

U128 ipv6_from_bytes(const uint8_t* b) {
  U128 v = 0;
  for (int i = 0; i < 16; ++i) v = v << 8 | b[i];
  return v;
}

std::array<uint8_t, 16> ipv6_bytes(U128 a) {
  std::array<uint8_t, 16> b{};
  for (int i = 15; i >= 0; --i) {
    b[static_cast<size_t>(i)] = static_cast<uint8_t>(a & 0xff);
    a >>= 8;
  }
  return b;
}

std::string ipv6_str(U128 a) {
  auto b = ipv6_bytes(a);
  char buf[INET6_ADDRSTRLEN];
  ::inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
  return buf;
}

Result<Cidr6> Cidr6::parse(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return invalid("invalid CIDR address: " + std::string(s));
  auto a = parse_ipv6(s.substr(0, slash));
  auto p = str::parse_int(s.substr(slash + 1));
  if (!a || !p || *p < 0 || *p > 128) return invalid("invalid CIDR address: " + std::string(s));
  Cidr6 c;
  c.addr = *a;
  c.prefix = static_cast<int>(*p);
  return c;
}

bool Cidr6::overlaps(const Cidr6& o) const {
  int p = std::min(prefix, o.prefix);
  U128 m = p == 0 ? 0 : ~U128{0} << (128 - p);
  return (addr & m) == (o.addr & m);
}

std::string Cidr6::str() const { return ipv6_str(network()) + "/" + std::to_string(prefix); }

Result<Pool6> make_pool6(const std::string& subnet, const std::string& gateway, const std::string& ip_range,
                         const std::vector<std::pair<std::string, std::string>>& aux) {
  Pool6 p;
  p.subnet = BERTH_TRY(Cidr6::parse(subnet));
  if (p.subnet.prefix > 126) return invalid("invalid subnet " + subnet + " : mask length must be at most 126");
  if (!gateway.empty()) {
    auto g = parse_ipv6(gateway);
    if (!g) return invalid("invalid gateway address: " + gateway);
    if (!p.subnet.contains(*g)) return invalid("no matching subnet for gateway " + gateway);
    p.gateway = *g;
  } else {
    p.gateway = p.subnet.network() + 1;
  }
  if (!ip_range.empty()) {
    auto r = BERTH_TRY(Cidr6::parse(ip_range));
    if (r.prefix < p.subnet.prefix || !p.subnet.contains(r.network()))
      return invalid("no matching subnet for range " + ip_range);
    p.ip_range = r;
  }
  for (const auto& [name, addr] : aux) {
    auto a = parse_ipv6(addr);
    if (!a) return invalid("invalid auxiliary address " + name + ": " + addr);
    if (!p.subnet.contains(*a)) return invalid("no matching subnet for aux-address " + addr);
    p.aux.emplace_back(name, *a);
  }
  return p;
}

namespace {
bool reserved6(const Pool6& p, U128 a) {
  if (a == p.subnet.network() || a == p.gateway) return true;
  for (const auto& x : p.aux)
    if (x.second == a) return true;
  return false;
}
}  // namespace

Result<U128> allocate6(const Pool6& p, const std::set<U128>& used) {
  const Cidr6& r = p.ip_range ? *p.ip_range : p.subnet;
  // Each step skips a used or reserved address, so the walk is bounded by
  // their count, not by the size of the subnet.
  size_t limit = used.size() + p.aux.size() + 4;
  U128 a = r.network();
  for (size_t i = 0; i <= limit; ++i, ++a) {
    if (!r.contains(a)) break;
    if (reserved6(p, a) || used.count(a)) continue;
    return a;
  }
  return make_error(Errc::unavailable, "no available IPv6 addresses on this network's address pools");
}

Status check_static6(const Pool6& p, U128 a, const std::set<U128>& used) {
  if (!p.subnet.contains(a) || a == p.subnet.network())
    return invalid("no available IPv6 addresses on this network's address pools: " + ipv6_str(a) +
                   " is not in subnet " + p.subnet.str());
  if (used.count(a) || reserved6(p, a)) return make_error(Errc::conflict, "Address already in use");
  return ok();
}

}  // namespace berth::network
