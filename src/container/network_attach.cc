#include "container/network_attach.h"

#include "common/strings.h"

namespace berth::container {

namespace {
Error invalid(std::string m) { return make_error(Errc::invalid, std::move(m)); }

std::string jstr(const Json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Status check_port_key(const std::string& k) {
  auto slash = k.find('/');
  std::string port = k.substr(0, slash);
  std::string proto = slash == std::string::npos ? "tcp" : k.substr(slash + 1);
  auto n = str::parse_int(port);
  if (!n || *n < 1 || *n > 65535) return invalid("invalid port specification: \"" + port + "\"");
  if (proto != "tcp" && proto != "udp" && proto != "sctp") return invalid("invalid proto: " + proto);
  if (proto == "sctp") return invalid("berth does not support sctp ports yet");
  return ok();
}
}  // namespace

NetMode parse_network_mode(const std::string& mode) {
  if (mode.empty() || mode == "default" || mode == "bridge") return {NetKind::bridge, "bridge"};
  if (mode == "host") return {NetKind::host, ""};
  if (mode == "none") return {NetKind::none, ""};
  if (str::starts_with(mode, "container:")) return {NetKind::container, mode.substr(10)};
  return {NetKind::custom, mode};
}

Status check_networking(const Json& hc, const Json& nc, network::NetworkService* nets) {
  NetMode m = parse_network_mode(hc.value("NetworkMode", std::string()));
  auto bindings = hc.value("PortBindings", Json::object());
  bool publish_all = hc.value("PublishAllPorts", false);
  std::vector<std::string> v6_host_ips;  // bindings on IPv6 addresses
  if (bindings.is_object()) {
    for (const auto& [k, v] : bindings.items()) {
      BERTH_TRY_VOID(check_port_key(k));
      if (!v.is_null() && !v.is_array()) return invalid("invalid port binding for " + k);
      if (v.is_array())
        for (const auto& b : v) {
          // An IPv6 address is DNAT to the container's IPv6 address, or,
          // with the userland proxy, served by berth-proxy to its IPv4 one.
          if (auto hip = jstr(b, "HostIp"); hip.find(':') != std::string::npos) v6_host_ips.push_back(hip);
          std::string hp = jstr(b, "HostPort");
          if (!hp.empty()) {
            auto dash = hp.find('-');
            auto a = str::parse_int(hp.substr(0, dash));
            auto z = dash == std::string::npos ? a : str::parse_int(hp.substr(dash + 1));
            if (!a || !z || *a < 0 || *z > 65535 || *a > *z)
              return invalid("invalid port specification: \"" + hp + "\"");
          }
        }
    }
  }
  if ((m.kind == NetKind::host || m.kind == NetKind::none || m.kind == NetKind::container) &&
      ((bindings.is_object() && !bindings.empty()) || publish_all)) {
    if (m.kind == NetKind::container) return make_error(Errc::conflict, "conflicting options: port publishing and the container type network mode");
    // Docker drops published ports for host/none with a warning.
  }
  if (m.kind == NetKind::container && m.target.empty())
    return invalid("invalid container format container:<name|id>");
  if (!nets) {
    // Without lookups: the predefined networks are known by name.
    auto predefined = [](const std::string& n) { return n == "bridge" || n == "default" || n == "host" || n == "none"; };
    if (auto eps = nc.find("EndpointsConfig"); eps != nc.end() && eps->is_object())
      for (const auto& [name, cfg] : eps->items()) {
        if (!predefined(name) || !cfg.is_object()) continue;
        if (auto ipam = cfg.find("IPAMConfig"); ipam != cfg.end() && ipam->is_object() &&
            !(jstr(*ipam, "IPv4Address") + jstr(*ipam, "IPv6Address")).empty())
          return invalid("user specified IP address is supported on user defined networks only");
        if (cfg.contains("Aliases") && cfg["Aliases"].is_array() && !cfg["Aliases"].empty())
          return invalid("network-scoped alias is supported only for containers in user defined networks");
      }
    return ok();
  }
  if (m.kind == NetKind::bridge || m.kind == NetKind::custom) {
    auto n = BERTH_TRY(nets->find(m.target));
    // IPv6 publishing without the userland proxy DNATs to the container's
    // IPv6 address: refuse it up front, not silently, when the network has
    // none ([::1] cannot be DNAT at all).
    for (const auto& v6_host_ip : v6_host_ips) {
      if (nets->proxies_ipv6()) break;
      auto a6 = network::parse_ipv6(v6_host_ip);
      if (!n.pool6 || (a6 && *a6 == 1))
        return invalid("cannot publish ports on IPv6 addresses (" + v6_host_ip + "): " +
                       (n.pool6 ? std::string("[::1] needs the userland proxy")
                                : "network " + n.name + " has no IPv6 subnet") +
                       " and berthd runs with --userland-proxy=false");
    }
  }
  if (auto eps = nc.find("EndpointsConfig"); eps != nc.end() && eps->is_object()) {
    for (const auto& [name, cfg] : eps->items()) {
      auto n = BERTH_TRY(nets->find(name == "default" ? "bridge" : name));
      std::string ip;
      if (cfg.is_object())
        if (auto ipam = cfg.find("IPAMConfig"); ipam != cfg.end() && ipam->is_object())
          ip = jstr(*ipam, "IPv4Address") + jstr(*ipam, "IPv6Address");
      if (!ip.empty() && n.predefined)
        return invalid("user specified IP address is supported on user defined networks only");
      if (cfg.is_object() && cfg.contains("Aliases") && cfg["Aliases"].is_array() && !cfg["Aliases"].empty() &&
          n.predefined)
        return invalid("network-scoped alias is supported only for containers in user defined networks");
    }
  }
  return ok();
}

Result<network::SandboxRequest> sandbox_request(const std::string& id, const std::string& name,
                                                const Json& config, const Json& hc, const Json& nc) {
  network::SandboxRequest r;
  r.container_id = id;
  r.name = name.size() && name[0] == '/' ? name.substr(1) : name;
  r.hostname = config.value("Hostname", std::string());
  NetMode m = parse_network_mode(hc.value("NetworkMode", std::string()));
  Json eps = nc.value("EndpointsConfig", Json::object());
  if (!eps.is_object()) eps = Json::object();
  auto endpoint = [&](const std::string& net) {
    network::EndpointRequest e;
    e.network = net;
    Json cfg = eps.contains(net) ? eps[net] : Json();
    if (net == "bridge" && cfg.is_null() && eps.contains("default")) cfg = eps["default"];
    if (cfg.is_object()) {
      if (cfg.contains("Aliases") && cfg["Aliases"].is_array())
        for (const auto& a : cfg["Aliases"])
          if (a.is_string()) e.aliases.push_back(a.get<std::string>());
      if (auto ipam = cfg.find("IPAMConfig"); ipam != cfg.end() && ipam->is_object()) {
        e.ipv4 = jstr(*ipam, "IPv4Address");
        e.ipv6 = jstr(*ipam, "IPv6Address");
      }
      e.mac = jstr(cfg, "MacAddress");
    }
    if (e.mac.empty() && r.endpoints.empty()) e.mac = config.value("MacAddress", std::string());
    return e;
  };
  r.endpoints.push_back(endpoint(m.target));
  for (const auto& [net, cfg] : eps.items()) {
    if (net == m.target || (m.target == "bridge" && net == "default")) continue;
    r.endpoints.push_back(endpoint(net));
  }
  if (auto d = hc.find("Dns"); d != hc.end() && d->is_array())
    for (const auto& x : *d)
      if (x.is_string()) r.dns.push_back(x.get<std::string>());
  Json bindings = hc.value("PortBindings", Json::object());
  if (!bindings.is_object()) bindings = Json::object();
  auto add_port = [&](const std::string& key, const std::string& hip, const std::string& hport) {
    network::PortRequest p;
    auto slash = key.find('/');
    p.container_port = static_cast<int>(str::parse_int(key.substr(0, slash)).value_or(0));
    p.proto = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
    p.host_ip = hip;
    p.host_port = hport;
    r.ports.push_back(p);
  };
  for (const auto& [k, v] : bindings.items()) {
    if (v.is_array() && !v.empty()) {
      for (const auto& b : v) add_port(k, jstr(b, "HostIp"), jstr(b, "HostPort"));
    } else {
      add_port(k, "", "");
    }
  }
  if (hc.value("PublishAllPorts", false)) {
    Json exposed = config.value("ExposedPorts", Json::object());
    if (exposed.is_object())
      for (const auto& [k, v] : exposed.items())
        if (!bindings.contains(k)) add_port(k, "", "");
  }
  return r;
}

}  // namespace berth::container
