#include "network/firewall.h"

#include <nftables/libnftables.h>

#include <cstdio>
#include <memory>

namespace berth::network {

namespace {
std::string q(const std::string& s) { return "\"" + s + "\""; }
}  // namespace

std::string render_delete(const std::string& table) {
  return "add table ip " + table + "\ndelete table ip " + table + "\n";
}

std::string render_ruleset(const std::string& table, const std::vector<FwNetwork>& nets,
                           const std::vector<FwPort>& ports) {
  std::string s = render_delete(table);
  s += "table ip " + table + " {\n";
  s += "  chain ports {\n";
  for (const auto& p : ports) {
    s += "    ";
    if (!p.host_ip.empty() && p.host_ip != "0.0.0.0") s += "ip daddr " + p.host_ip + " ";
    s += p.proto + " dport " + std::to_string(p.host_port) + " dnat to " + p.container_ip + ":" +
         std::to_string(p.container_port) + "\n";
  }
  s += "  }\n";
  s += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
       "    fib daddr type local jump ports\n  }\n";
  s += "  chain output {\n    type nat hook output priority -100; policy accept;\n"
       "    fib daddr type local jump ports\n  }\n";
  s += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
  for (const auto& n : nets) {
    // Host-to-container through 127.0.0.1 (route_localnet on the bridge).
    s += "    oifname " + q(n.bridge) + " ip saddr 127.0.0.0/8 masquerade\n";
    // Hairpin: a container reaching a published port of its own network.
    s += "    oifname " + q(n.bridge) + " ip saddr " + n.subnet + " ct status dnat masquerade\n";
    if (!n.internal && n.masquerade)
      s += "    ip saddr " + n.subnet + " oifname != " + q(n.bridge) + " masquerade\n";
  }
  s += "  }\n";
  s += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n";
  for (const auto& n : nets) {
    if (n.internal) {
      s += "    iifname " + q(n.bridge) + " oifname != " + q(n.bridge) + " drop\n";
      s += "    oifname " + q(n.bridge) + " iifname != " + q(n.bridge) + " drop\n";
    }
    for (const auto& o : nets)
      if (&o != &n) s += "    iifname " + q(n.bridge) + " oifname " + q(o.bridge) + " drop\n";
  }
  for (const auto& n : nets) {
    s += "    iifname " + q(n.bridge) + " accept\n";
    s += "    oifname " + q(n.bridge) + " ct state established,related accept\n";
    s += "    oifname " + q(n.bridge) + " ct status dnat accept\n";
  }
  s += "  }\n}\n";
  return s;
}

Status nft_apply(const std::string& script) {
  std::unique_ptr<nft_ctx, void (*)(nft_ctx*)> ctx(nft_ctx_new(NFT_CTX_DEFAULT), nft_ctx_free);
  if (!ctx) return make_error(Errc::internal, "nftables: cannot create a context");
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  int rc = nft_run_cmd_from_buffer(ctx.get(), script.c_str());
  if (rc != 0) {
    const char* err = nft_ctx_get_error_buffer(ctx.get());
    return make_error(Errc::internal, std::string("nftables: ") + (err ? err : "failed"));
  }
  return ok();
}

}  // namespace berth::network
