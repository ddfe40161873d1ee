#include "network/firewall.h"

#include <dlfcn.h>
#include <nftables/libnftables.h>

#include <cstdio>
#include <memory>
#include <mutex>


namespace berth::network {

namespace {
std::string q(const std::string& s) { return "\"" + s + "\""; }
}  // namespace

std::string render_delete(const std::string& table) {
  return "add table ip " + table + "\ndelete table ip " + table + "\n" + "add table ip6 " + table +
         "\ndelete table ip6 " + table + "\n";
}

namespace {

bool is_v6(const std::string& a) { return a.find(':') != std::string::npos; }

// One family's table. v6: the networks' IPv6 subnets and the ports whose
// container address is IPv6.
std::string render_family(const std::string& table, bool v6, const std::vector<FwNetwork>& nets,
                          const std::vector<FwPort>& ports) {
  const std::string fam = v6 ? "ip6" : "ip";
  std::string s = "table " + fam + " " + table + " {\n";
  s += "  chain ports {\n";
  for (const auto& p : ports) {
    if (is_v6(p.container_ip) != v6) continue;
    s += "    ";
    if (!p.host_ip.empty() && p.host_ip != "0.0.0.0" && p.host_ip != "::") s += fam + " daddr " + p.host_ip + " ";
    std::string to = v6 ? "[" + p.container_ip + "]" : p.container_ip;
    s += p.proto + " dport " + std::to_string(p.host_port) + " dnat to " + to + ":" +
         std::to_string(p.container_port) + "\n";
  }
  s += "  }\n";
  s += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
       "    fib daddr type local jump ports\n  }\n";
  s += "  chain output {\n    type nat hook output priority -100; policy accept;\n"
       "    fib daddr type local jump ports\n  }\n";
  s += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
  for (const auto& n : nets) {
    const std::string& subnet = v6 ? n.subnet6 : n.subnet;
    if (subnet.empty()) continue;
    // Host-to-container through the loopback address (route_localnet on
    // the bridge for IPv4).
    s += "    oifname " + q(n.bridge) + " " + fam + " saddr " + (v6 ? "::1" : "127.0.0.0/8") + " masquerade\n";
    // Hairpin: a container reaching a published port of its own network.
    s += "    oifname " + q(n.bridge) + " " + fam + " saddr " + subnet + " ct status dnat masquerade\n";
    if (!n.internal && n.masquerade)
      s += "    " + fam + " saddr " + subnet + " oifname != " + q(n.bridge) + " masquerade\n";
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

}  // namespace

std::string render_ruleset(const std::string& table, const std::vector<FwNetwork>& nets,
                           const std::vector<FwPort>& ports) {
  return render_delete(table) + render_family(table, false, nets, ports) + render_family(table, true, nets, ports);
}

// libnftables (with libnftnl, libxtables, libjansson, libgmp, libmnl) is
// dlopen()ed on the first transaction instead of being linked: a linked
// libnftables keeps ~1.3 MiB resident in every berthd (DESIGN.md §6: idle
// RSS <= 8 MiB). Loading it costs 5-25 ms (relocations), too much to pay
// per transaction (`run -p`), so it stays loaded once used; nft_release()
// lets the daemon drop it after the transaction of its start-up, which
// idle daemons would otherwise carry for nothing. The handle is process
// state by nature (the dynamic linker's), hence one instance here.
namespace {

struct NftLib {
  std::mutex mu;
  void* handle = nullptr;
  nft_ctx* (*ctx_new)(uint32_t) = nullptr;
  void (*ctx_free)(nft_ctx*) = nullptr;
  int (*buffer_output)(nft_ctx*) = nullptr;
  int (*buffer_error)(nft_ctx*) = nullptr;
  int (*run)(nft_ctx*, const char*) = nullptr;
  const char* (*error_buffer)(nft_ctx*) = nullptr;

  Status load() {  // with mu held
    if (handle) return ok();
    void* h = ::dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) return make_error(Errc::internal, std::string("nftables: cannot load libnftables: ") + ::dlerror());
    auto sym = [h](const char* name) { return ::dlsym(h, name); };
    ctx_new = reinterpret_cast<nft_ctx* (*)(uint32_t)>(sym("nft_ctx_new"));
    ctx_free = reinterpret_cast<void (*)(nft_ctx*)>(sym("nft_ctx_free"));
    buffer_output = reinterpret_cast<int (*)(nft_ctx*)>(sym("nft_ctx_buffer_output"));
    buffer_error = reinterpret_cast<int (*)(nft_ctx*)>(sym("nft_ctx_buffer_error"));
    run = reinterpret_cast<int (*)(nft_ctx*, const char*)>(sym("nft_run_cmd_from_buffer"));
    error_buffer = reinterpret_cast<const char* (*)(nft_ctx*)>(sym("nft_ctx_get_error_buffer"));
    if (!ctx_new || !ctx_free || !buffer_output || !buffer_error || !run || !error_buffer) {
      ::dlclose(h);
      return make_error(Errc::internal, "nftables: libnftables lacks an expected function");
    }
    handle = h;
    return ok();
  }
};

NftLib& nft_lib() {
  static NftLib lib;
  return lib;
}

}  // namespace

Status nft_apply(const std::string& script) {
  NftLib& l = nft_lib();
  std::lock_guard g(l.mu);  // also keeps nft_release from unloading under a transaction
  BERTH_TRY_VOID(l.load());
  std::unique_ptr<nft_ctx, void (*)(nft_ctx*)> ctx(l.ctx_new(NFT_CTX_DEFAULT), l.ctx_free);
  if (!ctx) return make_error(Errc::internal, "nftables: cannot create a context");
  l.buffer_output(ctx.get());
  l.buffer_error(ctx.get());
  int rc = l.run(ctx.get(), script.c_str());
  if (rc != 0) {
    const char* err = l.error_buffer(ctx.get());
    return make_error(Errc::internal, std::string("nftables: ") + (err ? err : "failed"));
  }
  return ok();
}

void nft_release() {
  NftLib& l = nft_lib();
  std::lock_guard g(l.mu);
  if (!l.handle) return;
  ::dlclose(l.handle);
  l.handle = nullptr;
}

}  // namespace berth::network
