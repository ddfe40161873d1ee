#include "network/service.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "common/fs.h"
#include "common/id.h"
#include "common/strings.h"
#include "common/time.h"
#include "network/firewall.h"
#include "sys/netlink.h"
#include "sys/netns.h"

namespace berth::network {

namespace {

Error invalid(std::string m) { return make_error(Errc::invalid, std::move(m)); }

std::string jstr(const Json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
bool jbool(const Json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::string docker_mac(uint32_t ip) {
  std::array<uint8_t, 6> m{0x02, 0x42, static_cast<uint8_t>(ip >> 24), static_cast<uint8_t>(ip >> 16),
                           static_cast<uint8_t>(ip >> 8), static_cast<uint8_t>(ip)};
  return sys::mac_str(m);
}

Status write_sysctl(const std::string& path, const char* v) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return sys_error("open " + path);
  if (::write(fd.get(), v, std::strlen(v)) < 0) return sys_error("write " + path);
  return ok();
}

sys::IpAddr v6addr(U128 a) {
  sys::IpAddr x;
  x.family = AF_INET6;
  x.bytes = ipv6_bytes(a);
  return x;
}

bool label_matches(const Json& labels, const std::string& f) {
  auto eq = f.find('=');
  std::string k = f.substr(0, eq);
  auto it = labels.find(k);
  if (it == labels.end()) return false;
  return eq == std::string::npos || (it->is_string() && it->get<std::string>() == f.substr(eq + 1));
}

Json sandbox_to_json(const Sandbox& sb) {
  Json eps = Json::array();
  for (const auto& e : sb.endpoints)
    eps.push_back(Json{{"network_id", e.network_id}, {"network_name", e.network_name},
                       {"endpoint_id", e.endpoint_id}, {"aliases", e.aliases}, {"static_ip", e.static_ip},
                       {"ip", e.ip}, {"prefix", e.prefix}, {"gateway", e.gateway}, {"mac", e.mac},
                       {"host_if", e.host_if}, {"ifname", e.ifname}, {"static_ip6", e.static_ip6},
                       {"ip6", e.ip6 ? ipv6_str(e.ip6) : ""}, {"prefix6", e.prefix6},
                       {"gateway6", e.gateway6 ? ipv6_str(e.gateway6) : ""}});
  Json ports = Json::array();
  for (const auto& p : sb.ports)
    ports.push_back(Json{{"proto", p.proto}, {"host_ip", p.host_ip}, {"host_port", p.host_port},
                         {"container_port", p.container_port}, {"proxy_pid", p.proxy.pid},
                         {"proxy_start", p.proxy.start_time}});
  return Json{{"container_id", sb.container_id}, {"name", sb.name}, {"netns", sb.netns},
              {"endpoints", eps}, {"ports", ports}, {"dns", sb.dns}, {"dns_servers", sb.dns_servers}};
}

std::unique_ptr<Sandbox> sandbox_from_json(const Json& j) {
  auto sb = std::make_unique<Sandbox>();
  sb->container_id = jstr(j, "container_id");
  sb->name = jstr(j, "name");
  sb->netns = jstr(j, "netns");
  sb->dns = jbool(j, "dns");
  sb->dns_servers = j.value("dns_servers", std::vector<std::string>{});
  for (const auto& e : j.value("endpoints", Json::array())) {
    Endpoint ep;
    ep.network_id = jstr(e, "network_id");
    ep.network_name = jstr(e, "network_name");
    ep.endpoint_id = jstr(e, "endpoint_id");
    ep.aliases = e.value("aliases", std::vector<std::string>{});
    ep.static_ip = jbool(e, "static_ip");
    ep.ip = e.value("ip", uint32_t{0});
    ep.prefix = e.value("prefix", 0);
    ep.gateway = e.value("gateway", uint32_t{0});
    ep.mac = jstr(e, "mac");
    ep.host_if = jstr(e, "host_if");
    ep.ifname = jstr(e, "ifname");
    ep.static_ip6 = jbool(e, "static_ip6");
    ep.ip6 = parse_ipv6(jstr(e, "ip6")).value_or(0);
    ep.prefix6 = e.value("prefix6", 0);
    ep.gateway6 = parse_ipv6(jstr(e, "gateway6")).value_or(0);
    sb->endpoints.push_back(ep);
  }
  for (const auto& p : j.value("ports", Json::array()))
    sb->ports.push_back(PortMap{jstr(p, "proto"), jstr(p, "host_ip"), p.value("host_port", 0),
                                p.value("container_port", 0),
                                ProxyProcess{p.value("proxy_pid", pid_t{0}), p.value("proxy_start", uint64_t{0})}});
  return sb;
}

// Binds (and for TCP listens on) a host port so nothing else takes it while
// it is published; port 0 picks an ephemeral one.
Result<UniqueFd> hold_port(const std::string& proto, const std::string& host_ip, int port, int* bound) {
  bool tcp = proto == "tcp";
  std::string ip = host_ip.empty() ? "0.0.0.0" : host_ip;
  bool v6 = ip.find(':') != std::string::npos;
  UniqueFd s(::socket(v6 ? AF_INET6 : AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
  if (!s) return sys_error("socket");
  int one = 1;
  if (tcp) ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // "::" holds the IPv6 side only; 0.0.0.0 is held by its own socket.
  if (v6) ::setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len;
  if (v6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET6, ip.c_str(), &sa->sin6_addr) != 1) return invalid("invalid IP address: " + host_ip);
    len = sizeof *sa;
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, ip.c_str(), &sa->sin_addr) != 1) return invalid("invalid IP address: " + host_ip);
    len = sizeof *sa;
  }
  std::string shown = v6 ? "[" + ip + "]" : ip;
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 || (tcp && ::listen(s.get(), 1) != 0))
    return make_error(Errc::internal, "Bind for " + shown + ":" + std::to_string(port) +
                                          " failed: port is already allocated");
  socklen_t l = sizeof ss;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&ss), &l);
  *bound = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return s;
}

}  // namespace

// ------------------------------------------------------------------ Network

Json Network::to_json() const {
  return Json{{"id", id}, {"name", name}, {"driver", driver}, {"scope", scope}, {"created_ns", created_ns},
              {"internal", internal}, {"attachable", attachable}, {"ipv6", ipv6}, {"predefined", predefined},
              {"options", options}, {"labels", labels}, {"subnet", subnet}, {"gateway", gateway},
              {"ip_range", ip_range}, {"aux", aux}, {"ifname", ifname}, {"subnet6", subnet6},
              {"gateway6", gateway6}, {"ip_range6", ip_range6}, {"aux6", aux6}};
}

Result<Network> Network::from_json(const Json& j) {
  Network n;
  n.id = jstr(j, "id");
  n.name = jstr(j, "name");
  n.driver = jstr(j, "driver");
  n.scope = jstr(j, "scope");
  n.created_ns = j.value("created_ns", int64_t{0});
  n.internal = jbool(j, "internal");
  n.attachable = jbool(j, "attachable");
  n.ipv6 = jbool(j, "ipv6");
  n.predefined = jbool(j, "predefined");
  n.options = j.value("options", Json::object());
  n.labels = j.value("labels", Json::object());
  n.subnet = jstr(j, "subnet");
  n.gateway = jstr(j, "gateway");
  n.ip_range = jstr(j, "ip_range");
  n.aux = j.value("aux", Json::object());
  n.ifname = jstr(j, "ifname");
  if (!n.subnet.empty()) {
    std::vector<std::pair<std::string, std::string>> aux;
    for (const auto& [k, v] : n.aux.items()) aux.emplace_back(k, v.get<std::string>());
    n.pool = BERTH_TRY(make_pool(n.subnet, n.gateway, n.ip_range, aux));
  }
  n.subnet6 = jstr(j, "subnet6");
  n.gateway6 = jstr(j, "gateway6");
  n.ip_range6 = jstr(j, "ip_range6");
  n.aux6 = j.value("aux6", Json::object());
  if (!n.subnet6.empty()) {
    std::vector<std::pair<std::string, std::string>> aux;
    for (const auto& [k, v] : n.aux6.items()) aux.emplace_back(k, v.get<std::string>());
    n.pool6 = BERTH_TRY(make_pool6(n.subnet6, n.gateway6, n.ip_range6, aux));
  }
  return n;
}

// ----------------------------------------------------------------- service

NetworkService::NetworkService(store::Db& db, Options o, log::Logger& log)
    : db_(db), opts_(std::move(o)), log_(log) {}

NetworkService::~NetworkService() = default;

Result<std::unique_ptr<NetworkService>> NetworkService::open(store::Db& db, Options o, log::Logger& log) {
  BERTH_TRY_VOID(db.migrate("network", {"CREATE TABLE networks (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, "
                                        "data TEXT NOT NULL);"
                                        "CREATE TABLE sandboxes (container_id TEXT PRIMARY KEY, data TEXT NOT NULL);"}));
  if (o.pools.empty()) {
    // Away from Docker's 172.17-31/16 and 192.168/16 defaults.
    o.pools.push_back(BERTH_TRY(parse_address_pool("base=10.210.0.0/16,size=24")));
    o.pools.push_back(BERTH_TRY(parse_address_pool("base=10.211.0.0/16,size=24")));
  }
  BERTH_TRY_VOID(fs::mkdir_p(o.exec_root + "/netns", 0700));
  std::unique_ptr<NetworkService> s(new NetworkService(db, std::move(o), log));
  BERTH_TRY_VOID(s->load());
  BERTH_TRY_VOID(s->ensure_predefined());
  std::vector<std::string> ups;
  if (auto t = fs::read_file(s->opts_.resolv_conf)) ups = resolv_conf_nameservers(*t);
  NetworkService* self = s.get();
  s->dns_ = std::make_unique<DnsServer>(
      [self](const std::string& cid, const DnsQuestion& q) { return self->resolve(cid, q); }, ups,
      [self](const std::string& cid) {
        std::lock_guard g(self->mu_);
        auto it = self->sandboxes_.find(cid);
        return it == self->sandboxes_.end() ? std::vector<std::string>{} : it->second->dns_servers;
      });
  if (s->opts_.ip_forward) (void)write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
  return s;
}

Status NetworkService::load() {
  auto st = BERTH_TRY(db_.prepare("SELECT data FROM networks"));
  while (BERTH_TRY(st.step())) {
    auto j = BERTH_TRY(parse_json(st.text(0)));
    auto n = BERTH_TRY(Network::from_json(j));
    nets_[n.id] = n;
  }
  return ok();
}

Status NetworkService::save(const Network& n) {
  auto st = BERTH_TRY(db_.prepare("INSERT OR REPLACE INTO networks (id, name, data) VALUES (?, ?, ?)"));
  st.bind(1, n.id).bind(2, n.name).bind(3, n.to_json().dump());
  return st.run();
}

std::string NetworkService::default_bridge_gateway() {
  std::lock_guard g(mu_);
  for (const auto& [id, n] : nets_)
    if (n.name == "bridge") return n.gateway;
  return {};
}

Status NetworkService::ensure_predefined() {
  std::lock_guard g(mu_);
  auto by_name = [&](const std::string& name) -> Network* {
    for (auto& [id, n] : nets_)
      if (n.name == name) return &n;
    return nullptr;
  };
  for (const char* nm : {"host", "none"}) {
    if (by_name(nm)) continue;
    Network n;
    n.id = random_hex_id();
    n.name = nm;
    n.driver = std::string(nm) == "host" ? "host" : "null";
    n.created_ns = timeutil::now_unix_nano();
    n.predefined = true;
    BERTH_TRY_VOID(save(n));
    nets_[n.id] = n;
  }
  Network* b = by_name("bridge");
  Network n;
  if (b) {
    n = *b;
  } else {
    n.id = random_hex_id();
    n.name = "bridge";
    n.driver = "bridge";
    n.created_ns = timeutil::now_unix_nano();
    n.predefined = true;
  }
  // The default bridge follows the daemon's flags on every start.
  n.ifname = opts_.bridge_name;
  n.options = Json{{"com.docker.network.bridge.default_bridge", "true"},
                   {"com.docker.network.bridge.enable_icc", "true"},
                   {"com.docker.network.bridge.enable_ip_masquerade", "true"},
                   {"com.docker.network.bridge.host_binding_ipv4", opts_.default_host_ip},
                   {"com.docker.network.bridge.name", opts_.bridge_name},
                   {"com.docker.network.driver.mtu", std::to_string(opts_.mtu)}};
  if (!opts_.bip.empty()) {
    auto c = BERTH_TRY(Cidr4::parse(opts_.bip));
    n.subnet = c.str();
    n.gateway = ipv4_str(c.addr);
  } else if (n.subnet.empty()) {
    std::vector<Cidr4> taken;
    if (auto t = fs::read_file("/proc/net/route")) taken = parse_proc_net_route(*t);
    for (const auto& [id, o] : nets_)
      if (o.pool && o.id != n.id) taken.push_back(o.pool->subnet);
    auto c = BERTH_TRY(pick_subnet(opts_.pools, taken));
    n.subnet = c.str();
    n.gateway = ipv4_str(c.network() + 1);
  }
  n.ip_range = opts_.fixed_cidr;
  n.pool = BERTH_TRY(make_pool(n.subnet, n.gateway, n.ip_range, {}));
  // --ipv6 --fixed-cidr-v6 give the default bridge its IPv6 subnet.
  n.ipv6 = opts_.ipv6;
  n.pool6.reset();
  n.subnet6 = n.gateway6 = "";
  if (opts_.ipv6 && !opts_.fixed_cidr_v6.empty()) {
    auto p6 = BERTH_TRY(make_pool6(opts_.fixed_cidr_v6, "", "", {}));
    n.subnet6 = p6.subnet.str();
    n.gateway6 = ipv6_str(p6.gateway);
    n.pool6 = p6;
  }
  BERTH_TRY_VOID(save(n));
  nets_[n.id] = n;
  BERTH_TRY_VOID(ensure_bridge(n));
  return ok();
}

Status NetworkService::ensure_bridge(const Network& n) {
  if (n.driver != "bridge" || !n.pool) return ok();
  auto nl = BERTH_TRY(sys::Netlink::open());
  int idx = BERTH_TRY(nl.link_index(n.ifname));
  if (idx == 0) {
    auto st = nl.create_bridge(n.ifname, opts_.mtu);
    if (!st && st.error().sys_errno != EEXIST) return std::move(st).error();
    idx = BERTH_TRY(nl.link_index(n.ifname));
    if (idx == 0) return make_error(Errc::internal, "bridge " + n.ifname + " vanished after creation");
  }
  BERTH_TRY_VOID(nl.add_addr(idx, sys::IpAddr::v4(n.pool->gateway), n.pool->subnet.prefix));
  if (n.pool6) {
    // The bridge routes the network's IPv6 subnet: its gateway address and
    // IPv6 forwarding on (as dockerd does for an IPv6 network).
    (void)write_sysctl("/proc/sys/net/ipv6/conf/" + n.ifname + "/disable_ipv6", "0");
    sys::IpAddr g6;
    g6.family = AF_INET6;
    g6.bytes = ipv6_bytes(n.pool6->gateway);
    BERTH_TRY_VOID(nl.add_addr(idx, g6, n.pool6->subnet.prefix));
    if (opts_.ip_forward) (void)write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
  }
  BERTH_TRY_VOID(nl.set_up(idx));
  // Host → container through 127.0.0.1 needs loopback sources routed out
  // of the bridge (masqueraded in postrouting).
  (void)write_sysctl("/proc/sys/net/ipv4/conf/" + n.ifname + "/route_localnet", "1");
  return ok();
}

Result<Network*> NetworkService::find_locked(std::string_view ref) {
  for (auto& [id, n] : nets_)
    if (n.name == ref || id == ref) return &n;
  Network* hit = nullptr;
  for (auto& [id, n] : nets_)
    if (!ref.empty() && id.compare(0, ref.size(), ref) == 0) {
      if (hit) return make_error(Errc::invalid, "network " + std::string(ref) + " is ambiguous");
      hit = &n;
    }
  if (!hit) return make_error(Errc::not_found, "network " + std::string(ref) + " not found");
  return hit;
}

Result<Network> NetworkService::find(std::string_view ref) {
  std::lock_guard g(mu_);
  return *BERTH_TRY(find_locked(ref));
}

Result<Json> NetworkService::create(const Json& body) {
  if (!body.is_object()) return invalid("invalid network config");
  Network n;
  n.name = jstr(body, "Name");
  if (n.name.empty()) return invalid("network name is required");
  n.driver = jstr(body, "Driver");
  if (n.driver.empty()) n.driver = "bridge";
  if (n.driver != "bridge" && n.driver != "macvlan") {
    if (n.driver == "host" || n.driver == "null")
      return make_error(Errc::forbidden, "only one instance of \"" + n.driver + "\" network is allowed");
    return make_error(Errc::not_found, "plugin \"" + n.driver + "\" not found");
  }
  n.internal = jbool(body, "Internal");
  n.attachable = jbool(body, "Attachable");
  n.ipv6 = jbool(body, "EnableIPv6");
  if (auto it = body.find("Options"); it != body.end() && it->is_object()) n.options = *it;
  if (auto it = body.find("Labels"); it != body.end() && it->is_object()) n.labels = *it;
  for (const auto& [k, v] : n.options.items())
    if (!v.is_string()) return invalid("network option " + k + " must be a string");

  std::lock_guard g(mu_);
  for (const auto& [id, o] : nets_)
    if (o.name == n.name) return make_error(Errc::conflict, "network with name " + n.name + " already exists");

  Json ipam = body.value("IPAM", Json::object());
  if (!ipam.is_object()) ipam = Json::object();
  std::string ipam_driver = jstr(ipam, "Driver");
  if (!ipam_driver.empty() && ipam_driver != "default")
    return make_error(Errc::not_found, "plugin \"" + ipam_driver + "\" not found");
  Json cfgs = ipam.value("Config", Json::array());
  if (!cfgs.is_array()) cfgs = Json::array();
  std::vector<Cidr4> host_routes;
  if (auto t = fs::read_file("/proc/net/route")) host_routes = parse_proc_net_route(*t);
  bool seen4 = false, seen6 = false;
  for (const Json& c : cfgs) {
    if (!c.is_object()) continue;
    std::string subnet = jstr(c, "Subnet");
    bool v6 = subnet.find(':') != std::string::npos ||
              (subnet.empty() && jstr(c, "Gateway").find(':') != std::string::npos);
    if ((v6 && seen6) || (!v6 && seen4))
      return invalid("berth supports one IPv4 and one IPv6 IPAM config per network");
    (v6 ? seen6 : seen4) = true;
    std::vector<std::pair<std::string, std::string>> aux;
    if (auto a = c.find("AuxiliaryAddresses"); a != c.end() && a->is_object())
      for (const auto& [k, v] : a->items())
        if (v.is_string()) aux.emplace_back(k, v.get<std::string>());
    if (subnet.empty()) {
      if (!jstr(c, "Gateway").empty() || !jstr(c, "IPRange").empty())
        return invalid("ipam configuration: gateway and ip-range need a subnet");
      continue;
    }
    if (v6) {
      if (!n.ipv6) return make_error(Errc::forbidden, "non-overlapping IPv6 subnet " + subnet +
                                                          " needs IPv6 enabled on the network (--ipv6)");
      auto pool = BERTH_TRY(make_pool6(subnet, jstr(c, "Gateway"), jstr(c, "IPRange"), aux));
      for (const auto& [id, o] : nets_)
        if (o.pool6 && o.pool6->subnet.overlaps(pool.subnet))
          return make_error(Errc::forbidden, "Pool overlaps with other one on this address space");
      n.subnet6 = pool.subnet.str();
      n.gateway6 = ipv6_str(pool.gateway);
      n.ip_range6 = pool.ip_range ? pool.ip_range->str() : "";
      for (const auto& [k, v] : aux) n.aux6[k] = v;
      n.pool6 = pool;
      continue;
    }
    auto pool = BERTH_TRY(make_pool(subnet, jstr(c, "Gateway"), jstr(c, "IPRange"), aux));
    for (const auto& [id, o] : nets_)
      if (o.pool && o.pool->subnet.overlaps(pool.subnet))
        return make_error(Errc::forbidden, "Pool overlaps with other one on this address space");
    n.subnet = pool.subnet.str();
    n.gateway = ipv4_str(pool.gateway);
    n.ip_range = pool.ip_range ? pool.ip_range->str() : "";
    for (const auto& [k, v] : aux) n.aux[k] = v;
    n.pool = pool;
  }
  // dockerd 20.10 has no default IPv6 pool: --ipv6 needs an IPv6 --subnet.
  if (n.ipv6 && !n.pool6)
    return make_error(Errc::forbidden,
                      "could not find an available, non-overlapping IPv6 address pool among the defaults to "
                      "assign to the network");
  if (!n.pool) {
    std::vector<Cidr4> taken = host_routes;
    for (const auto& [id, o] : nets_)
      if (o.pool) taken.push_back(o.pool->subnet);
    auto c = BERTH_TRY(pick_subnet(opts_.pools, taken));
    n.subnet = c.str();
    n.gateway = ipv4_str(c.network() + 1);
    n.pool = BERTH_TRY(make_pool(n.subnet, n.gateway, "", {}));
  }
  n.id = random_hex_id();
  n.created_ns = timeutil::now_unix_nano();
  if (n.driver == "bridge") {
    n.ifname = jstr(n.options, "com.docker.network.bridge.name");
    if (n.ifname.empty()) n.ifname = "br-" + n.id.substr(0, 12);
    if (n.ifname.size() > 15) return invalid("bridge name " + n.ifname + " is longer than 15 characters");
    BERTH_TRY_VOID(ensure_bridge(n));
  } else {
    n.ifname = jstr(n.options, "parent");
    if (n.ifname.empty())
      return invalid("berth's macvlan driver needs -o parent=<interface> (this kernel has no dummy links to stand in)");
    auto nl = BERTH_TRY(sys::Netlink::open());
    if (BERTH_TRY(nl.link_index(n.ifname)) == 0) {
      if (n.ifname.find('.') != std::string::npos)
        return invalid("-o parent=" + n.ifname +
                       ": 802.1q VLAN sub-interfaces are not available (this kernel has no 8021q support)");
      return invalid("-o parent interface was not found on the host: " + n.ifname);
    }
  }
  for (const auto& [k, v] : n.options.items()) {
    static const std::set<std::string> known = {
        "com.docker.network.bridge.name", "com.docker.network.bridge.enable_icc",
        "com.docker.network.bridge.enable_ip_masquerade", "com.docker.network.bridge.host_binding_ipv4",
        "com.docker.network.driver.mtu", "parent", "macvlan_mode"};
    if (!known.count(k)) return invalid("unknown network option " + k);
  }
  if (n.options.contains("macvlan_mode") && jstr(n.options, "macvlan_mode") != "bridge")
    return invalid("berth's macvlan supports macvlan_mode=bridge only");
  auto undo = ScopeExit([&] {
    if (n.driver == "bridge")
      if (auto nl = sys::Netlink::open())
        if (auto idx = nl->link_index(n.ifname); idx && *idx) (void)nl->delete_link(*idx);
  });
  BERTH_TRY_VOID(save(n));
  nets_[n.id] = n;
  if (auto st = sync_firewall(); !st) {
    nets_.erase(n.id);
    (void)db_.prepare("DELETE FROM networks WHERE id = ?").value().bind(1, n.id).run();
    return std::move(st).error();
  }
  undo.dismiss();
  BERTH_LOG(log_, info, "network created", {"id", n.id}, {"name", n.name}, {"subnet", n.subnet});
  return Json{{"Id", n.id}, {"Warning", ""}};
}

Result<Json> NetworkService::inspect(std::string_view ref) {
  std::lock_guard g(mu_);
  Network* n = BERTH_TRY(find_locked(ref));
  Json ipam_cfg = Json::array();
  if (n->pool) {
    Json c{{"Subnet", n->subnet}, {"Gateway", n->gateway}};
    if (!n->ip_range.empty()) c["IPRange"] = n->ip_range;
    if (!n->aux.empty()) c["AuxiliaryAddresses"] = n->aux;
    ipam_cfg.push_back(c);
  }
  if (n->pool6) {
    Json c{{"Subnet", n->subnet6}, {"Gateway", n->gateway6}};
    if (!n->ip_range6.empty()) c["IPRange"] = n->ip_range6;
    if (!n->aux6.empty()) c["AuxiliaryAddresses"] = n->aux6;
    ipam_cfg.push_back(c);
  }
  Json containers = Json::object();
  for (const auto& [cid, sb] : sandboxes_)
    for (const auto& e : sb->endpoints)
      if (e.network_id == n->id)
        containers[cid] = Json{{"Name", sb->name}, {"EndpointID", e.endpoint_id}, {"MacAddress", e.mac},
                               {"IPv4Address", ipv4_str(e.ip) + "/" + std::to_string(e.prefix)},
                               {"IPv6Address", e.ip6 ? ipv6_str(e.ip6) + "/" + std::to_string(e.prefix6) : ""}};
  return Json{{"Name", n->name},
              {"Id", n->id},
              {"Created", timeutil::rfc3339_nano(n->created_ns)},
              {"Scope", n->scope},
              {"Driver", n->driver},
              {"EnableIPv6", n->ipv6},
              {"IPAM", {{"Driver", "default"}, {"Options", n->predefined ? Json(nullptr) : Json::object()},
                        {"Config", ipam_cfg}}},
              {"Internal", n->internal},
              {"Attachable", n->attachable},
              {"Ingress", false},
              {"ConfigFrom", {{"Network", ""}}},
              {"ConfigOnly", false},
              {"Containers", containers},
              {"Options", n->options},
              {"Labels", n->labels}};
}

Result<std::vector<Json>> NetworkService::list(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& filters) {
  for (const auto& [k, v] : filters) {
    static const std::set<std::string> keys = {"driver", "id", "label", "name", "scope", "type", "dangling"};
    if (!keys.count(k)) return invalid("invalid filter '" + k + "'");
    if (k == "type")
      for (const auto& x : v)
        if (x != "custom" && x != "builtin") return invalid("invalid filter: 'type'='" + x + "'");
  }
  std::vector<std::string> ids;
  {
    std::lock_guard g(mu_);
    for (const auto& [id, n] : nets_) {
      bool keep = true;
      for (const auto& [k, vals] : filters) {
        bool any = vals.empty();
        for (const auto& v : vals) {
          if (k == "driver") any |= n.driver == v;
          else if (k == "id") any |= id.compare(0, v.size(), v) == 0;
          else if (k == "name") any |= n.name.find(v) != std::string::npos;
          else if (k == "label") any |= label_matches(n.labels, v);
          else if (k == "scope") any |= n.scope == v;
          else if (k == "type") any |= (v == "builtin") == n.predefined;
          else if (k == "dangling") {
            bool used = false;
            for (const auto& [c, sb] : sandboxes_)
              for (const auto& e : sb->endpoints) used |= e.network_id == id;
            bool want = str::parse_query_bool(v);
            any |= want == (!used && !n.predefined);
          }
        }
        keep &= any;
      }
      if (keep) ids.push_back(id);
    }
  }
  std::vector<Json> out;
  for (const auto& id : ids) {
    auto j = inspect(id);
    if (j) out.push_back(std::move(*j));
  }
  return out;
}

Status NetworkService::remove(std::string_view ref) {
  std::lock_guard g(mu_);
  Network* n = BERTH_TRY(find_locked(ref));
  if (n->predefined)
    return make_error(Errc::forbidden, n->name + " is a pre-defined network and cannot be removed");
  for (const auto& [cid, sb] : sandboxes_)
    for (const auto& e : sb->endpoints)
      if (e.network_id == n->id)
        return make_error(Errc::forbidden, "error while removing network: network " + n->name + " id " + n->id +
                                               " has active endpoints");
  Network gone = *n;
  nets_.erase(gone.id);
  auto st = BERTH_TRY(db_.prepare("DELETE FROM networks WHERE id = ?"));
  BERTH_TRY_VOID(st.bind(1, gone.id).run());
  (void)sync_firewall();
  if (gone.driver == "bridge") {
    auto nl = BERTH_TRY(sys::Netlink::open());
    int idx = BERTH_TRY(nl.link_index(gone.ifname));
    if (idx) BERTH_TRY_VOID(nl.delete_link(idx));
  }
  BERTH_LOG(log_, info, "network removed", {"id", gone.id}, {"name", gone.name});
  return ok();
}

Result<std::vector<std::string>> NetworkService::prune(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& filters, int64_t until_ns) {
  for (const auto& [k, v] : filters)
    if (k != "label" && k != "label!" && k != "until") return invalid("invalid filter '" + k + "'");
  std::vector<std::pair<std::string, std::string>> victims;
  {
    std::lock_guard g(mu_);
    for (const auto& [id, n] : nets_) {
      if (n.predefined) continue;
      bool used = false;
      for (const auto& [c, sb] : sandboxes_)
        for (const auto& e : sb->endpoints) used |= e.network_id == id;
      if (used) continue;
      if (until_ns && n.created_ns >= until_ns) continue;
      bool keep = true;
      // label=X prunes only networks with X; label!=X only those without.
      for (const auto& [k, vals] : filters) {
        if (k == "label")
          for (const auto& v : vals) keep &= label_matches(n.labels, v);
        if (k == "label!")
          for (const auto& v : vals) keep &= !label_matches(n.labels, v);
      }
      if (keep) victims.emplace_back(id, n.name);
    }
  }
  std::vector<std::string> out;
  for (const auto& [id, name] : victims)
    if (remove(id)) out.push_back(name);
  return out;
}

std::set<uint32_t> NetworkService::used_addresses(const std::string& network_id) {
  std::set<uint32_t> used;
  for (const auto& [c, sb] : sandboxes_)
    for (const auto& e : sb->endpoints)
      if (e.network_id == network_id) used.insert(e.ip);
  return used;
}

std::set<U128> NetworkService::used_addresses6(const std::string& network_id) {
  std::set<U128> used;
  for (const auto& [c, sb] : sandboxes_)
    for (const auto& e : sb->endpoints)
      if (e.network_id == network_id && e.ip6) used.insert(e.ip6);
  return used;
}

Status NetworkService::add_endpoint(Sandbox& sb, const Network& n, const EndpointRequest& r,
                                    sys::Netlink* in_ns) {
  if (n.driver != "bridge" && n.driver != "macvlan")
    return invalid("container cannot be connected to network " + n.name);
  for (const auto& e : sb.endpoints)
    if (e.network_id == n.id)
      return make_error(Errc::forbidden, "endpoint with name " + sb.name + " already exists in network " + n.name);
  Endpoint ep;
  ep.network_id = n.id;
  ep.network_name = n.name;
  ep.endpoint_id = random_hex_id();
  ep.aliases = r.aliases;
  auto used = used_addresses(n.id);
  if (!r.ipv4.empty()) {
    if (n.predefined)
      return invalid("user specified IP address is supported on user defined networks only");
    auto a = parse_ipv4(r.ipv4);
    if (!a) return invalid("invalid IPv4 address: " + r.ipv4);
    BERTH_TRY_VOID(check_static(*n.pool, *a, used));
    ep.ip = *a;
    ep.static_ip = true;
  } else {
    ep.ip = BERTH_TRY(allocate(*n.pool, used));
  }
  ep.prefix = n.pool->subnet.prefix;
  ep.gateway = n.pool->gateway;
  if (!r.ipv6.empty()) {
    if (n.predefined)
      return invalid("user specified IP address is supported on user defined networks only");
    auto a = parse_ipv6(r.ipv6);
    if (!a) return invalid("invalid IPv6 address: " + r.ipv6);
    if (!n.pool6) return invalid("invalid IPv6 address " + r.ipv6 + ": network " + n.name + " has no IPv6 subnet");
    BERTH_TRY_VOID(check_static6(*n.pool6, *a, used_addresses6(n.id)));
    ep.ip6 = *a;
    ep.static_ip6 = true;
  } else if (n.pool6) {
    ep.ip6 = BERTH_TRY(allocate6(*n.pool6, used_addresses6(n.id)));
  }
  if (ep.ip6) {
    ep.prefix6 = n.pool6->subnet.prefix;
    ep.gateway6 = n.pool6->gateway;
  }
  ep.mac = r.mac.empty() ? docker_mac(ep.ip) : r.mac;
  auto mac = sys::parse_mac(ep.mac);
  if (!mac) return invalid("invalid MAC address: " + ep.mac);
  int ifn = 0;
  for (bool taken = true; taken; ++ifn) {
    taken = false;
    for (const auto& e : sb.endpoints) taken |= e.ifname == "eth" + std::to_string(ifn);
    if (!taken) break;
  }
  ep.ifname = "eth" + std::to_string(ifn);
  std::string tmp = "vp" + ep.endpoint_id.substr(0, 12);
  UniqueFd nsfd(::open(sb.netns.c_str(), O_RDONLY | O_CLOEXEC));
  if (!nsfd) return sys_error("open " + sb.netns);
  auto nl = BERTH_TRY(sys::Netlink::open());
  if (n.driver == "bridge") {
    ep.host_if = "vb" + ep.endpoint_id.substr(0, 12);
    int br = BERTH_TRY(nl.link_index(n.ifname));
    if (br == 0) {
      BERTH_TRY_VOID(ensure_bridge(n));
      br = BERTH_TRY(nl.link_index(n.ifname));
    }
    // One request: host end enslaved and up, peer in the container under
    // its final name with its MAC, up.
    sys::Netlink::VethSpec v;
    v.host = ep.host_if;
    v.peer = ep.ifname;
    v.peer_netns_fd = nsfd.get();
    v.mtu = opts_.mtu;
    v.master = br;
    v.peer_mac = *mac;
    BERTH_TRY_VOID(nl.create_veth(v));
    auto undo = ScopeExit([&] {
      if (auto i = nl.link_index(ep.host_if); i && *i) (void)nl.delete_link(*i);
    });
    BERTH_TRY_VOID(nl.set_up(BERTH_TRY(nl.link_index(ep.host_if))));
    undo.dismiss();
  } else {
    int parent = BERTH_TRY(nl.link_index(n.ifname));
    if (parent == 0) return invalid("-o parent interface was not found on the host: " + n.ifname);
    BERTH_TRY_VOID(nl.create_macvlan(tmp, parent, nsfd.get(), opts_.mtu));
  }
  bool first = sb.endpoints.empty();
  bool route = first && !n.internal;
  bool has_route6 = false;
  for (const auto& e : sb.endpoints) {
    auto on = nets_.find(e.network_id);
    has_route6 |= e.ip6 && on != nets_.end() && !on->second.internal;
  }
  bool is_bridge = n.driver == "bridge";
  // fresh: a sandbox being created, whose namespace already has IPv6 off by
  // default unless one of its networks has IPv6 (see create_sandbox).
  auto configure = [&](sys::Netlink& cn, bool fresh) -> Status {
    int i = BERTH_TRY(cn.link_index(is_bridge ? ep.ifname : tmp));
    if (i == 0) return make_error(Errc::internal, "interface " + ep.ifname + " did not arrive in the container");
    if (!is_bridge) {
      BERTH_TRY_VOID(cn.set_name(i, ep.ifname));
      BERTH_TRY_VOID(cn.set_mac(i, *mac));
    }
    if (!fresh) {
      // As dockerd: IPv6 on the interface only when its network has IPv6.
      std::string conf = "/proc/sys/net/ipv6/conf/";
      (void)write_sysctl(conf + ep.ifname + "/disable_ipv6", ep.ip6 ? "0" : "1");
      if (ep.ip6) (void)write_sysctl(conf + "lo/disable_ipv6", "0");
    }
    BERTH_TRY_VOID(cn.add_addr(i, sys::IpAddr::v4(ep.ip), ep.prefix));
    if (ep.ip6) BERTH_TRY_VOID(cn.add_addr(i, v6addr(ep.ip6), ep.prefix6));
    BERTH_TRY_VOID(cn.set_up(i));
    if (route) BERTH_TRY_VOID(cn.add_default_route(sys::IpAddr::v4(ep.gateway), i));
    if (ep.ip6 && !n.internal && !has_route6) BERTH_TRY_VOID(cn.add_default_route(v6addr(ep.gateway6), i));
    return ok();
  };
  Status st = in_ns ? configure(*in_ns, true) : sys::run_in_netns(sb.netns, [&]() -> Status {
    auto cn = BERTH_TRY(sys::Netlink::open());
    return configure(cn, false);
  });
  if (!st) {
    if (!ep.host_if.empty())
      if (auto i = nl.link_index(ep.host_if); i && *i) (void)nl.delete_link(*i);
    return std::move(st).error();
  }
  sb.endpoints.push_back(ep);
  if (!n.predefined && n.driver == "bridge") sb.dns = true;
  return ok();
}

void NetworkService::remove_endpoint(Sandbox& sb, const Endpoint& ep) {
  if (!ep.host_if.empty()) {
    if (auto nl = sys::Netlink::open())
      if (auto i = nl->link_index(ep.host_if); i && *i) (void)nl->delete_link(*i);
  } else if (!sb.netns.empty()) {
    (void)sys::run_in_netns(sb.netns, [&]() -> Status {
      auto cn = BERTH_TRY(sys::Netlink::open());
      int i = BERTH_TRY(cn.link_index(ep.ifname));
      if (i) BERTH_TRY_VOID(cn.delete_link(i));
      return ok();
    });
  }
}

Status NetworkService::publish(Sandbox& sb, const std::vector<PortRequest>& ports) {
  if (ports.empty()) return ok();
  uint32_t cip = 0;
  U128 cip6 = 0;
  for (const auto& e : sb.endpoints)
    if (!e.host_if.empty()) {
      cip = e.ip;
      cip6 = e.ip6;
      break;
    }
  if (!cip) return invalid("published ports need a bridge network");
  std::vector<PortRequest> all;
  std::vector<bool> twin;  // the [::] copy of a port published without an address
  for (const auto& p : ports) {
    all.push_back(p);
    twin.push_back(false);
    // A port published without an address answers on [::] too, on the same
    // host port, as dockerd lists 0.0.0.0 and [::]: by DNAT to the
    // container's IPv6 address (--ip6tables), or through berth-proxy to its
    // IPv4 address (the userland proxy, dockerd's default).
    if (p.host_ip.empty() && opts_.default_host_ip == "0.0.0.0" &&
        ((cip6 && opts_.ip6tables) || (!cip6 && opts_.userland_proxy))) {
      all.back().host_ip = "0.0.0.0";
      all.push_back(p);
      all.back().host_ip = "::";
      twin.push_back(true);
    }
  }
  for (size_t k = 0; k < all.size(); ++k) {
    PortRequest p = all[k];
    std::string hip = p.host_ip.empty() ? opts_.default_host_ip : p.host_ip;
    // IPv6 has no route_localnet, and nftables cannot DNAT from IPv6 to
    // IPv4: [::1], and any IPv6 address of a container without IPv6, is
    // served by a userland proxy to the container's IPv4 address, as
    // docker-proxy does.
    bool v6 = hip.find(':') != std::string::npos;
    auto a6 = parse_ipv6(hip);
    bool proxied = v6 && a6 && (*a6 == 1 || !cip6);
    if (proxied && !opts_.userland_proxy)
      return invalid("cannot publish ports on IPv6 addresses (" + hip + "): " +
                     (cip6 ? std::string("[::1] needs the userland proxy")
                           : std::string("the container has no IPv6 address (its network has no IPv6 subnet)")) +
                     " and berthd runs with --userland-proxy=false");
    if (twin[k]) {
      if (sb.ports.empty()) continue;  // its IPv4 original was skipped
      p.host_port = std::to_string(sb.ports.back().host_port);  // the [::] twin takes the same port
    }
    int lo = 0, hi = 0;
    if (!p.host_port.empty()) {
      auto dash = p.host_port.find('-');
      auto a = str::parse_int(p.host_port.substr(0, dash));
      auto b = dash == std::string::npos ? a : str::parse_int(p.host_port.substr(dash + 1));
      if (!a || !b || *a < 0 || *b > 65535 || *a > *b) return invalid("invalid port specification: \"" + p.host_port + "\"");
      lo = static_cast<int>(*a);
      hi = static_cast<int>(*b);
    }
    Result<UniqueFd> held = make_error(Errc::internal, "no port");
    int bound = 0;
    for (int port = lo; port <= hi; ++port) {
      held = hold_port(p.proto, hip, port, &bound);
      if (held) break;
    }
    // A host without IPv6 publishes the IPv4 side only, as dockerd.
    if (!held && twin[k] && held.error().sys_errno == EAFNOSUPPORT) continue;
    if (!held)
      return make_error(Errc::internal, "driver failed programming external connectivity on endpoint " + sb.name +
                                            " (" + sb.endpoints.front().endpoint_id + "): " + held.error().msg);
    PortMap pm{p.proto, hip, bound, p.container_port, {}};
    if (proxied) {
      BERTH_TRY_VOID(start_port_proxy(sb, pm, *held));  // the proxy owns the socket now
    } else {
      sb.holds.push_back(std::move(*held));
    }
    sb.ports.push_back(pm);
  }
  return ok();
}

Status NetworkService::start_port_proxy(const Sandbox& sb, PortMap& p, const UniqueFd& held) {
  uint32_t cip = 0;
  for (const auto& e : sb.endpoints)
    if (!e.host_if.empty() && e.ip) {
      cip = e.ip;
      break;
    }
  if (!cip) return invalid("published ports need a bridge network");
  auto pp = start_proxy(opts_.proxy_binary, ProxySpec{p.proto, p.host_ip, p.host_port, ipv4_str(cip), p.container_port, sb.container_id},
                        held);
  if (!pp)
    return make_error(Errc::internal, "driver failed programming external connectivity on endpoint " + sb.name +
                                          ": " + pp.error().msg);
  p.proxy = *pp;
  return ok();
}

Status NetworkService::persist(const Sandbox& sb) {
  auto st = BERTH_TRY(db_.prepare("INSERT OR REPLACE INTO sandboxes (container_id, data) VALUES (?, ?)"));
  st.bind(1, sb.container_id).bind(2, sandbox_to_json(sb).dump());
  return st.run();
}

Status NetworkService::sync_firewall() {
  if (!opts_.nftables) return ok();
  std::vector<FwNetwork> nets;
  for (const auto& [id, n] : nets_)
    if (n.driver == "bridge" && n.pool)
      nets.push_back(FwNetwork{n.ifname, n.subnet, n.internal,
                               jstr(n.options, "com.docker.network.bridge.enable_ip_masquerade") != "false",
                               n.pool6 ? n.subnet6 : ""});
  std::vector<FwPort> ports;
  for (const auto& [cid, sb] : sandboxes_) {
    uint32_t cip = 0;
    U128 cip6 = 0;
    for (const auto& e : sb->endpoints)
      if (!e.host_if.empty()) {
        cip = e.ip;
        cip6 = e.ip6;
        break;
      }
    for (const auto& p : sb->ports) {
      if (p.proxy.pid) continue;  // served by berth-proxy, not DNAT
      bool v6 = p.host_ip.find(':') != std::string::npos;
      if (v6 && !cip6) continue;
      ports.push_back(FwPort{p.proto, p.host_ip, p.host_port, v6 ? ipv6_str(cip6) : ipv4_str(cip), p.container_port});
    }
  }
  return nft_apply(render_ruleset(opts_.nft_table, nets, ports));
}

Result<std::string> NetworkService::create_sandbox(const SandboxRequest& r) {
  using Clock = std::chrono::steady_clock;
  auto us = [](Clock::time_point a, Clock::time_point b) {
    return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(b - a).count());
  };
  auto t0 = Clock::now();
  std::lock_guard g(mu_);
  if (sandboxes_.count(r.container_id)) destroy_sandbox(r.container_id);
  auto sb = std::make_unique<Sandbox>();
  sb->container_id = r.container_id;
  sb->name = r.name;
  sb->dns_servers = r.dns;
  sb->netns = opts_.exec_root + "/netns/" + r.container_id.substr(0, 12);
  (void)sys::remove_netns(sb->netns);
  bool any_v6 = false;
  for (const auto& e : r.endpoints)
    if (auto n = find_locked(e.network); n && (*n)->pool6) any_v6 = true;
  // The thread that makes the namespace also brings lo up, sets IPv6's
  // default and opens the netlink socket every endpoint is configured
  // through: no further thread hop into the namespace.
  std::optional<sys::Netlink> in_ns;
  BERTH_TRY_VOID(sys::create_netns(sb->netns, [&]() -> Status {
    auto cn = BERTH_TRY(sys::Netlink::open());
    BERTH_TRY_VOID(cn.set_up(1));  // lo is the first link of every new namespace
    if (!any_v6) (void)write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    in_ns = std::move(cn);
    return ok();
  }));
  auto undo = ScopeExit([&] { teardown(*sb); });
  auto t1 = Clock::now();
  for (const auto& e : r.endpoints) {
    Network* n = BERTH_TRY(find_locked(e.network));
    BERTH_TRY_VOID(add_endpoint(*sb, *n, e, &*in_ns));
  }
  in_ns.reset();
  auto t2 = Clock::now();
  BERTH_TRY_VOID(publish(*sb, r.ports));
  if (sb->dns) BERTH_TRY_VOID(dns_->add(sb->container_id, sb->netns));
  auto t3 = Clock::now();
  Sandbox* raw = sb.get();
  sandboxes_[r.container_id] = std::move(sb);
  if (!raw->ports.empty()) {
    if (auto st = sync_firewall(); !st) {
      auto keep = std::move(sandboxes_[r.container_id]);
      sandboxes_.erase(r.container_id);
      sb = std::move(keep);
      return std::move(st).error();
    }
  }
  (void)persist(*raw);
  undo.dismiss();
  auto t4 = Clock::now();
  // Where a sandbox's time goes (bench/net_run_latency.sh; berthd -D).
  BERTH_LOG(log_, debug, "sandbox created", {"id", r.container_id.substr(0, 12)}, {"netns_us", us(t0, t1)},
            {"endpoints_us", us(t1, t2)}, {"ports_dns_us", us(t2, t3)}, {"firewall_db_us", us(t3, t4)},
            {"total_us", us(t0, t4)});
  return raw->netns;
}

void NetworkService::teardown(Sandbox& sb) {
  dns_->remove(sb.container_id);
  // Veth pairs go with the namespace (the kernel deletes them when its
  // last reference, the pin, goes); only macvlans and endpoints left in a
  // namespace that cannot be removed are deleted one by one.
  bool ns_gone = !sb.netns.empty() && sys::remove_netns(sb.netns);
  if (!ns_gone)
    for (const auto& ep : sb.endpoints) remove_endpoint(sb, ep);
  sb.endpoints.clear();
  sb.holds.clear();
  for (auto& p : sb.ports)
    if (p.proxy.pid) {
      stop_proxy(p.proxy);
      p.proxy = {};
    }
}

void NetworkService::destroy_sandbox(const std::string& container_id) {
  std::lock_guard g(mu_);
  auto it = sandboxes_.find(container_id);
  if (it == sandboxes_.end()) return;
  bool had_ports = !it->second->ports.empty();
  teardown(*it->second);
  sandboxes_.erase(it);
  if (auto st = db_.prepare("DELETE FROM sandboxes WHERE container_id = ?"))
    (void)st->bind(1, container_id).run();
  if (had_ports)
    if (auto st = sync_firewall(); !st)
      BERTH_LOG(log_, error, "firewall update failed", {"error", st.error().msg});
}

Status NetworkService::adopt_sandbox(const std::string& container_id, const std::string& name,
                                     const std::string& ns_file) {
  std::lock_guard g(mu_);
  if (sandboxes_.count(container_id)) return ok();
  auto sb = std::make_unique<Sandbox>();
  sb->container_id = container_id;
  sb->name = name;
  sb->netns = opts_.exec_root + "/netns/" + container_id.substr(0, 12);
  (void)sys::remove_netns(sb->netns);
  BERTH_TRY_VOID(sys::pin_netns(ns_file, sb->netns));
  if (auto st = persist(*sb); !st) {
    (void)sys::remove_netns(sb->netns);
    return st;
  }
  sandboxes_[container_id] = std::move(sb);
  return ok();
}

bool NetworkService::has_sandbox(const std::string& container_id) {
  std::lock_guard g(mu_);
  return sandboxes_.count(container_id) != 0;
}

Status NetworkService::connect(const std::string& container_id, const EndpointRequest& e) {
  std::lock_guard g(mu_);
  auto it = sandboxes_.find(container_id);
  if (it == sandboxes_.end()) return make_error(Errc::conflict, "container " + container_id + " is not running");
  Network* n = BERTH_TRY(find_locked(e.network));
  bool had_dns = it->second->dns;
  BERTH_TRY_VOID(add_endpoint(*it->second, *n, e));
  if (!had_dns && it->second->dns) (void)dns_->add(container_id, it->second->netns);
  return persist(*it->second);
}

Status NetworkService::disconnect(const std::string& container_id, const std::string& network) {
  std::lock_guard g(mu_);
  auto it = sandboxes_.find(container_id);
  if (it == sandboxes_.end()) return make_error(Errc::conflict, "container " + container_id + " is not running");
  Network* n = BERTH_TRY(find_locked(network));
  auto& eps = it->second->endpoints;
  auto ep = std::find_if(eps.begin(), eps.end(), [&](const Endpoint& e) { return e.network_id == n->id; });
  if (ep == eps.end())
    return make_error(Errc::forbidden, "container " + container_id + " is not connected to network " + n->name);
  remove_endpoint(*it->second, *ep);
  eps.erase(ep);
  return persist(*it->second);
}

std::string NetworkService::hosts_entries(const std::string& container_id, const std::string& hostname) {
  std::lock_guard g(mu_);
  auto it = sandboxes_.find(container_id);
  if (it == sandboxes_.end()) return {};
  std::string out;
  for (const auto& e : it->second->endpoints) {
    out += ipv4_str(e.ip) + "\t" + hostname + "\n";
    if (e.ip6) out += ipv6_str(e.ip6) + "\t" + hostname + "\n";
  }
  return out;
}

bool NetworkService::uses_embedded_dns(const std::string& container_id) {
  std::lock_guard g(mu_);
  auto it = sandboxes_.find(container_id);
  return it != sandboxes_.end() && it->second->dns;
}

std::optional<std::vector<DnsRecord>> NetworkService::resolve(const std::string& cid, const DnsQuestion& q) {
  std::lock_guard g(mu_);
  auto self = sandboxes_.find(cid);
  if (self == sandboxes_.end()) return std::nullopt;
  // Only the user-defined networks the asking container is on.
  std::set<std::string> mine;
  for (const auto& e : self->second->endpoints) {
    auto n = nets_.find(e.network_id);
    if (n != nets_.end() && !n->second.predefined) mine.insert(e.network_id);
  }
  std::vector<DnsRecord> out;
  if (q.qtype == kDnsPtr) {
    // Reverse lookups of container addresses answer "<name>.<network>".
    auto t = parse_ptr_name(q.name);
    if (!t) return std::nullopt;
    for (const auto& [id, sb] : sandboxes_)
      for (const auto& e : sb->endpoints) {
        if (!mine.count(e.network_id)) continue;
        bool hit = false;
        if (t->family == AF_INET) {
          uint32_t a = static_cast<uint32_t>(t->bytes[0]) << 24 | static_cast<uint32_t>(t->bytes[1]) << 16 |
                       static_cast<uint32_t>(t->bytes[2]) << 8 | t->bytes[3];
          hit = e.ip == a;
        } else {
          hit = e.ip6 && e.ip6 == ipv6_from_bytes(t->bytes.data());
        }
        if (hit) {
          out.push_back(dns_ptr(sb->name + "." + e.network_name));
          return out;
        }
      }
    return std::nullopt;
  }
  bool found = false;
  for (const auto& [id, sb] : sandboxes_)
    for (const auto& e : sb->endpoints) {
      if (!mine.count(e.network_id)) continue;
      bool hit = sb->name == q.name || (q.name.size() == 12 && id.compare(0, 12, q.name) == 0) ||
                 q.name == sb->name + "." + e.network_name;
      for (const auto& a : e.aliases) hit |= str::to_lower(a) == q.name;
      if (!hit) continue;
      found = true;
      if (q.qtype == kDnsA) out.push_back(dns_a(e.ip));
      if (q.qtype == kDnsAaaa && e.ip6) out.push_back(dns_aaaa(ipv6_bytes(e.ip6)));
    }
  if (!found) return std::nullopt;
  return out;
}

Json NetworkService::settings(const std::string& container_id, Json base) {
  std::lock_guard g(mu_);
  auto it = sandboxes_.find(container_id);
  if (it == sandboxes_.end()) return base;
  const Sandbox& sb = *it->second;
  base["SandboxID"] = sha256_hex(sb.netns).substr(0, 64);
  base["SandboxKey"] = sb.netns;
  Json ports = base.value("Ports", Json::object());
  if (!ports.is_object()) ports = Json::object();
  for (const auto& p : sb.ports) {
    std::string k = std::to_string(p.container_port) + "/" + p.proto;
    if (!ports[k].is_array()) ports[k] = Json::array();
    ports[k].push_back(Json{{"HostIp", p.host_ip}, {"HostPort", std::to_string(p.host_port)}});
  }
  base["Ports"] = ports;
  Json nets = Json::object();
  for (const auto& e : sb.endpoints) {
    Json ipam = nullptr;
    if (e.static_ip || e.static_ip6) {
      ipam = Json::object();
      if (e.static_ip) ipam["IPv4Address"] = ipv4_str(e.ip);
      if (e.static_ip6) ipam["IPv6Address"] = ipv6_str(e.ip6);
    }
    std::string gw6 = e.ip6 ? ipv6_str(e.gateway6) : "", ip6 = e.ip6 ? ipv6_str(e.ip6) : "";
    Json aliases = e.aliases.empty() ? Json(nullptr) : Json(e.aliases);
    auto n = nets_.find(e.network_id);
    if (n != nets_.end() && !n->second.predefined) {
      if (aliases.is_null()) aliases = Json::array();
      aliases.push_back(container_id.substr(0, 12));
    }
    Json ej{{"IPAMConfig", ipam},  {"Links", nullptr},     {"Aliases", aliases},
            {"NetworkID", e.network_id}, {"EndpointID", e.endpoint_id},
            {"Gateway", ipv4_str(e.gateway)}, {"IPAddress", ipv4_str(e.ip)}, {"IPPrefixLen", e.prefix},
            {"IPv6Gateway", gw6}, {"GlobalIPv6Address", ip6}, {"GlobalIPv6PrefixLen", e.ip6 ? e.prefix6 : 0},
            {"MacAddress", e.mac}, {"DriverOpts", nullptr}};
    nets[e.network_name] = ej;
    if (e.network_name == "bridge") {
      base["EndpointID"] = e.endpoint_id;
      base["Gateway"] = ipv4_str(e.gateway);
      base["IPAddress"] = ipv4_str(e.ip);
      base["IPPrefixLen"] = e.prefix;
      base["MacAddress"] = e.mac;
      base["IPv6Gateway"] = gw6;
      base["GlobalIPv6Address"] = ip6;
      base["GlobalIPv6PrefixLen"] = e.ip6 ? e.prefix6 : 0;
    }
  }
  base["Networks"] = nets;
  return base;
}

void NetworkService::reconcile(const std::set<std::string>& running) {
  std::lock_guard g(mu_);
  std::vector<std::unique_ptr<Sandbox>> rows;
  if (auto st = db_.prepare("SELECT data FROM sandboxes")) {
    while (st->step().value_or(false))
      if (auto j = parse_json(st->text(0))) rows.push_back(sandbox_from_json(*j));
  }
  std::set<std::string> kept_ns;
  for (auto& sb : rows) {
    std::string cid = sb->container_id;
    if (sandboxes_.count(cid)) {
      kept_ns.insert(sb->netns);
      continue;
    }
    if (running.count(cid) && fs::exists(sb->netns)) {
      // Take the published ports again and serve DNS in the namespace.
      for (auto& p : sb->ports) {
        if (p.proxy.pid && proxy_alive(p.proxy)) continue;  // it kept serving while berthd was away
        int bound = 0;
        auto h = hold_port(p.proto, p.host_ip, p.host_port, &bound);
        if (!h) continue;
        if (p.proxy.pid) {
          if (auto st = start_port_proxy(*sb, p, *h); !st)
            BERTH_LOG(log_, warn, "userland proxy not restored", {"id", cid}, {"error", st.error().msg});
          continue;
        }
        sb->holds.push_back(std::move(*h));
      }
      (void)persist(*sb);
      if (sb->dns)
        if (auto st = dns_->add(cid, sb->netns); !st)
          BERTH_LOG(log_, warn, "embedded DNS not restored", {"id", cid}, {"error", st.error().msg});
      kept_ns.insert(sb->netns);
      sandboxes_[cid] = std::move(sb);
      continue;
    }
    BERTH_LOG(log_, info, "removing a stale network sandbox", {"id", cid});
    teardown(*sb);
    if (auto st = db_.prepare("DELETE FROM sandboxes WHERE container_id = ?")) (void)st->bind(1, cid).run();
  }
  for (const auto& name : fs::list_dir(opts_.exec_root + "/netns")) {
    std::string p = opts_.exec_root + "/netns/" + name;
    if (!kept_ns.count(p)) (void)sys::remove_netns(p);
  }
  if (auto st = sync_firewall(); !st)
    BERTH_LOG(log_, error, "firewall setup failed", {"error", st.error().msg});
}

}  // namespace berth::network
