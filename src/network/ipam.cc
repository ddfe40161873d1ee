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
  if (used.count(a) || a == p.gateway)
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

}  // namespace berth::network
