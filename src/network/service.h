// NetworkService: networks (bridge, macvlan, and the predefined bridge,
// host and none), their IPAM, and per-container sandboxes (a pinned network
// namespace with one endpoint per connected network, published ports and
// the embedded DNS). Firewall state is one nftables table, re-rendered and
// applied atomically whenever networks or ports change.
//
// SQLite schema (component "network"):
//   networks
//   ├── id    TEXT PRIMARY KEY   64 hex
//   ├── name  TEXT UNIQUE        "bridge", "mynet"
//   └── data  TEXT               JSON: Network (to_json)
//   sandboxes
//   ├── container_id TEXT PRIMARY KEY
//   └── data  TEXT               JSON: the live sandbox (endpoints, ports)
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/log.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "network/dns.h"
#include "network/ipam.h"
#include "network/userland_proxy.h"
#include "sys/netlink.h"
#include "store/db.h"

namespace berth::network {

struct Options {
  std::string exec_root;
  std::string bridge_name = "berth0";  // default bridge interface (--bridge)
  std::string bip;                     // gateway/prefix of the default bridge (--bip)
  std::string fixed_cidr;              // --fixed-cidr
  bool ipv6 = false;                   // --ipv6: IPv6 on the default bridge
  std::string fixed_cidr_v6;           // --fixed-cidr-v6: its IPv6 subnet
  bool ip6tables = false;              // --ip6tables: publish -p without an address on [::] too
  std::vector<AddressPool> pools;      // default-address-pools
  bool ip_forward = true;
  bool nftables = true;                // --iptables
  std::string nft_table = "berth";
  std::string resolv_conf = "/etc/resolv.conf";
  int mtu = 1500;
  // IPv4 host addresses are always DNAT (127.0.0.1 via route_localnet).
  // With the userland proxy (dockerd's default), an IPv6 host address of a
  // container without IPv6 — [::1], [::], any other — is served by a
  // berth-proxy to its IPv4 address, as docker-proxy does, and `-p` without
  // an address publishes [::] too. Without it, such bindings are refused.
  bool userland_proxy = true;
  std::string proxy_binary;     // berth-proxy; "" refuses proxied ports at publish time
  std::string default_host_ip = "0.0.0.0";  // --ip: where -p without an address binds
};

struct Network {
  std::string id, name, driver, scope = "local";
  int64_t created_ns = 0;
  bool internal = false, attachable = false, ipv6 = false, predefined = false;
  Json options = Json::object();
  Json labels = Json::object();
  std::optional<Pool> pool;           // bridge/macvlan
  std::string subnet, gateway, ip_range;
  Json aux = Json::object();
  std::optional<Pool6> pool6;         // EnableIPv6 with a v6 subnet
  std::string subnet6, gateway6, ip_range6;
  Json aux6 = Json::object();
  std::string ifname;                 // bridge interface, or macvlan parent
  Json to_json() const;
  static Result<Network> from_json(const Json& j);
};

struct EndpointRequest {
  std::string network;  // name, ID or ID prefix
  std::vector<std::string> aliases;
  std::string ipv4;  // static address or ""
  std::string ipv6;  // static IPv6 address or ""
  std::string mac;
};

struct PortRequest {
  std::string proto = "tcp";
  int container_port = 0;
  std::string host_ip;
  std::string host_port;  // "", "8080" or "8000-8010"
};

struct SandboxRequest {
  std::string container_id;
  std::string name;  // without "/"
  std::string hostname;
  std::vector<EndpointRequest> endpoints;
  std::vector<PortRequest> ports;
  std::vector<std::string> dns;  // --dns: the embedded server's upstreams for this container
};

struct Endpoint {
  std::string network_id, network_name, endpoint_id;
  std::vector<std::string> aliases;
  bool static_ip = false;
  uint32_t ip = 0;
  int prefix = 0;
  uint32_t gateway = 0;
  bool static_ip6 = false;
  U128 ip6 = 0;  // 0: no IPv6 on this endpoint
  int prefix6 = 0;
  U128 gateway6 = 0;
  std::string mac, host_if, ifname;
};

struct PortMap {
  std::string proto, host_ip;
  int host_port = 0, container_port = 0;
  ProxyProcess proxy;  // pid 0: DNAT; else the berth-proxy serving it
};

struct Sandbox {
  std::string container_id, name, netns;
  std::vector<Endpoint> endpoints;
  std::vector<PortMap> ports;
  std::vector<UniqueFd> holds;  // host ports reserved while published
  std::vector<std::string> dns_servers;
  bool dns = false;             // on a user-defined network
};

class NetworkService {
 public:
  static Result<std::unique_ptr<NetworkService>> open(store::Db& db, Options o, log::Logger& log);
  ~NetworkService();

  // POST /networks/create body → {"Id", "Warning"}.
  Result<Json> create(const Json& body);
  Result<Json> inspect(std::string_view ref);
  Result<std::vector<Json>> list(const std::vector<std::pair<std::string, std::vector<std::string>>>& filters);
  Status remove(std::string_view ref);
  // `until_ns` (0: none) keeps networks created at or after it; the caller
  // parses the `until` filter's timestamp or duration.
  Result<std::vector<std::string>> prune(const std::vector<std::pair<std::string, std::vector<std::string>>>& filters,
                                         int64_t until_ns = 0);
  // Name or ID of an existing network; 404 "network X not found".
  Result<Network> find(std::string_view ref);

  // A container's sandbox: netns + endpoints + ports + DNS. Returns the netns path.
  Result<std::string> create_sandbox(const SandboxRequest& r);
  void destroy_sandbox(const std::string& container_id);
  // A sandbox without endpoints around a running container's own namespace
  // (`ns_file`: /proc/PID/ns/net), so networks can be connected to a
  // container started on "none" and then disconnected from it, as dockerd.
  Status adopt_sandbox(const std::string& container_id, const std::string& name, const std::string& ns_file);
  Status connect(const std::string& container_id, const EndpointRequest& e);
  Status disconnect(const std::string& container_id, const std::string& network);
  bool has_sandbox(const std::string& container_id);
  // /etc/hosts lines for the container's own addresses ("10.0.0.2\tname").
  std::string hosts_entries(const std::string& container_id, const std::string& hostname);
  bool uses_embedded_dns(const std::string& container_id);
  // NetworkSettings of inspect; `base` is the stopped form to fill in.
  Json settings(const std::string& container_id, Json base);
  // Keeps the sandboxes of `running` containers (after a berthd restart),
  // tears down every other leftover: netns files, veths, rules.
  void reconcile(const std::set<std::string>& running);
  std::string default_bridge_gateway();
  // An IPv6 host address can be published for a container whose network has
  // no IPv6 subnet (through berth-proxy to its IPv4 address).
  bool proxies_ipv6() const { return opts_.userland_proxy; }

 private:
  NetworkService(store::Db& db, Options o, log::Logger& log);
  Status load();
  Status ensure_predefined();
  Status ensure_bridge(const Network& n);
  Status save(const Network& n);
  Status sync_firewall();  // mu_ held
  Result<Network*> find_locked(std::string_view ref);
  // in_ns: a netlink socket opened inside the sandbox's (new) namespace;
  // nullptr: a thread joins the namespace (connect to a running container).
  Status add_endpoint(Sandbox& sb, const Network& n, const EndpointRequest& e, sys::Netlink* in_ns = nullptr);  // mu_ held
  void remove_endpoint(Sandbox& sb, const Endpoint& ep);
  Status publish(Sandbox& sb, const std::vector<PortRequest>& ports);
  // Starts the berth-proxy of `p` on the bound socket `held` (to the
  // sandbox's first bridge IPv4 address).
  Status start_port_proxy(const Sandbox& sb, PortMap& p, const UniqueFd& held);
  Status persist(const Sandbox& sb);
  std::optional<std::vector<DnsRecord>> resolve(const std::string& cid, const DnsQuestion& q);
  void teardown(Sandbox& sb);
  std::set<uint32_t> used_addresses(const std::string& network_id);
  std::set<U128> used_addresses6(const std::string& network_id);

  store::Db& db_;
  Options opts_;
  log::Logger& log_;
  std::recursive_mutex mu_;
  std::map<std::string, Network> nets_;  // id → network
  std::map<std::string, std::unique_ptr<Sandbox>> sandboxes_;
  std::unique_ptr<DnsServer> dns_;
};

}  // namespace berth::network
