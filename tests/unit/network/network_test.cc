#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "network/dns.h"
#include "network/firewall.h"
#include "network/ipam.h"

namespace berth::network {
namespace {

TEST(Ipam, ParsesAndNormalisesCidrs) {
  auto c = Cidr4::parse("10.1.2.3/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->str(), "10.1.2.0/24");
  EXPECT_TRUE(c->contains(*parse_ipv4("10.1.2.200")));
  EXPECT_FALSE(c->contains(*parse_ipv4("10.1.3.1")));
  EXPECT_EQ(Cidr4::parse("banana").error().msg, "invalid CIDR address: banana");
  EXPECT_FALSE(Cidr4::parse("10.0.0.0/33"));
  EXPECT_TRUE(Cidr4::parse("10.0.0.0/16")->overlaps(*Cidr4::parse("10.0.5.0/24")));
  EXPECT_FALSE(Cidr4::parse("10.0.0.0/24")->overlaps(*Cidr4::parse("10.0.1.0/24")));
}

TEST(Ipam, PoolChecksGatewayRangeAndAux) {
  auto p = make_pool("10.9.0.0/24", "", "", {});
  ASSERT_TRUE(p);
  EXPECT_EQ(ipv4_str(p->gateway), "10.9.0.1");
  EXPECT_EQ(make_pool("10.9.0.0/24", "10.8.0.1", "", {}).error().msg, "no matching subnet for gateway 10.8.0.1");
  EXPECT_EQ(make_pool("10.9.0.0/24", "", "10.9.1.0/25", {}).error().msg, "no matching subnet for range 10.9.1.0/25");
  EXPECT_FALSE(make_pool("10.9.0.0/24", "", "", {{"a", "10.10.0.1"}}));
}

TEST(Ipam, AllocatesSkippingReservedAndUsed) {
  auto p = *make_pool("10.9.0.0/29", "", "", {{"router", "10.9.0.2"}});
  std::set<uint32_t> used;
  std::vector<std::string> got;
  for (int i = 0; i < 4; ++i) {
    auto a = allocate(p, used);
    ASSERT_TRUE(a);
    used.insert(*a);
    got.push_back(ipv4_str(*a));
  }
  // .0 network, .1 gateway, .2 aux, .7 broadcast are never handed out.
  EXPECT_EQ(got, (std::vector<std::string>{"10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"}));
  EXPECT_FALSE(allocate(p, used));
  auto r = *make_pool("10.9.0.0/24", "", "10.9.0.128/25", {});
  EXPECT_EQ(ipv4_str(*allocate(r, {})), "10.9.0.128");
  EXPECT_EQ(check_static(p, *parse_ipv4("10.9.0.3"), used).error().kind, Errc::conflict);
  EXPECT_EQ(check_static(p, *parse_ipv4("10.9.1.3"), used).error().kind, Errc::invalid);
}

TEST(Ipam, PicksSubnetsAvoidingRoutesAndNetworks) {
  std::vector<AddressPool> pools = {*parse_address_pool("base=10.210.0.0/16,size=24")};
  std::vector<Cidr4> taken = {*Cidr4::parse("10.210.0.0/24"), *Cidr4::parse("10.210.1.0/25")};
  EXPECT_EQ(pick_subnet(pools, taken)->str(), "10.210.2.0/24");
  EXPECT_FALSE(parse_address_pool("base=10.0.0.0/16,size=8"));
  EXPECT_FALSE(parse_address_pool("size=24"));
  const char* route =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
      "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
  auto routes = parse_proc_net_route(route);
  ASSERT_EQ(routes.size(), 1u);  // the default route is skipped
  EXPECT_EQ(routes[0].str(), "172.17.0.0/16");
}

TEST(Firewall, RendersOneReplaceableTable) {
  std::string s = render_ruleset("berth_t", {{"br0", "10.1.0.0/24", false, true}, {"br1", "10.2.0.0/24", true, true}},
                                 {{"tcp", "0.0.0.0", 8080, "10.1.0.2", 80}, {"udp", "127.0.0.1", 53, "10.1.0.3", 53}});
  // Replaced as a whole in one transaction: add, delete, recreate.
  EXPECT_EQ(s.rfind("add table ip berth_t\ndelete table ip berth_t\nadd table ip6 berth_t\ndelete table ip6 berth_t\n"
                    "table ip berth_t {", 0),
            0u);
  // No IPv6 network: the ip6 table has no masquerade and no port rule.
  auto ip6 = s.substr(s.find("table ip6 berth_t {"));
  EXPECT_EQ(ip6.find("masquerade"), std::string::npos);
  EXPECT_EQ(ip6.find("dnat to"), std::string::npos);
  EXPECT_NE(s.find("tcp dport 8080 dnat to 10.1.0.2:80"), std::string::npos);
  EXPECT_NE(s.find("ip daddr 127.0.0.1 udp dport 53 dnat to 10.1.0.3:53"), std::string::npos);
  EXPECT_NE(s.find("ip saddr 10.1.0.0/24 oifname != \"br0\" masquerade"), std::string::npos);
  // Internal networks get no masquerade and drop traffic leaving the bridge.
  EXPECT_EQ(s.find("ip saddr 10.2.0.0/24 oifname != \"br1\" masquerade"), std::string::npos);
  EXPECT_NE(s.find("iifname \"br1\" oifname != \"br1\" drop"), std::string::npos);
  // Networks are isolated from each other.
  EXPECT_NE(s.find("iifname \"br0\" oifname \"br1\" drop"), std::string::npos);
  EXPECT_NE(s.find("iifname \"br1\" oifname \"br0\" drop"), std::string::npos);
  EXPECT_NE(s.find("fib daddr type local jump ports"), std::string::npos);
}

TEST(Dns, ParsesQueriesAndBuildsAnswers) {
  // ID 0x1234, RD, one question "Web.Local" A IN.
  const uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'W', 'e', 'b', 5, 'L', 'o', 'c', 'a', 'l', 0,
                       0, 1, 0, 1};
  auto p = parse_dns_query(q, sizeof q);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, 0x1234);
  EXPECT_EQ(p->name, "web.local");
  EXPECT_EQ(p->qtype, 1);
  std::string a = build_dns_answer(q, *p, std::vector<uint32_t>{0x0a000002}, 0);
  ASSERT_EQ(a.size(), sizeof q + 16);
  EXPECT_EQ(static_cast<uint8_t>(a[2]) & 0x80, 0x80);  // a response
  EXPECT_EQ(static_cast<uint8_t>(a[7]), 1);            // one answer
  EXPECT_EQ(a.substr(a.size() - 4), std::string("\x0a\x00\x00\x02", 4));
  std::string nx = build_dns_answer(q, *p, std::vector<DnsRecord>{}, 3);
  EXPECT_EQ(static_cast<uint8_t>(nx[3]) & 0x0f, 3);
  EXPECT_FALSE(parse_dns_query(q, 10));
  EXPECT_EQ(resolv_conf_nameservers("search x\nnameserver 1.1.1.1\n# c\nnameserver  127.0.0.53\n"),
            (std::vector<std::string>{"1.1.1.1", "127.0.0.53"}));
}

TEST(Ipam, Ipv6PoolsAllocateAroundGatewayAuxAndUsed) {
  auto c = Cidr6::parse("fd00:1::5/64");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->str(), "fd00:1::/64");
  EXPECT_TRUE(c->contains(*parse_ipv6("fd00:1::ffff")));
  EXPECT_FALSE(c->contains(*parse_ipv6("fd00:2::1")));
  EXPECT_TRUE(Cidr6::parse("fd00::/48")->overlaps(*Cidr6::parse("fd00:0:0:5::/64")));
  EXPECT_EQ(Cidr6::parse("fd00::/129").error().msg, "invalid CIDR address: fd00::/129");
  EXPECT_FALSE(parse_ipv6("10.0.0.1"));
  auto p = make_pool6("fd00:1::/64", "", "", {{"r", "fd00:1::3"}});
  ASSERT_TRUE(p);
  EXPECT_EQ(ipv6_str(p->gateway), "fd00:1::1");
  std::set<U128> used{*parse_ipv6("fd00:1::2")};
  EXPECT_EQ(ipv6_str(*allocate6(*p, used)), "fd00:1::4");  // ::1 gateway, ::2 used, ::3 aux
  EXPECT_EQ(check_static6(*p, *parse_ipv6("fd00:1::3"), used).error().msg, "Address already in use");
  EXPECT_EQ(check_static6(*p, *parse_ipv6("fd00:1::2"), used).error().msg, "Address already in use");
  EXPECT_TRUE(check_static6(*p, *parse_ipv6("fd00:1::99"), used));
  EXPECT_FALSE(check_static6(*p, *parse_ipv6("fd00:9::99"), used));
  EXPECT_EQ(make_pool6("fd00:1::/64", "fd00:2::1", "", {}).error().msg, "no matching subnet for gateway fd00:2::1");
  auto r = make_pool6("fd00:1::/64", "", "fd00:1::100/120", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(ipv6_str(*allocate6(*r, {})), "fd00:1::100");
  // A full range is reported, not walked forever.
  auto tiny = make_pool6("fd00:1::/126", "", "", {});
  ASSERT_TRUE(tiny);
  std::set<U128> full{*parse_ipv6("fd00:1::2"), *parse_ipv6("fd00:1::3")};
  EXPECT_FALSE(allocate6(*tiny, full));
  // IPv4 aux addresses are as taken as the gateway for static requests.
  auto p4 = make_pool("10.9.0.0/24", "", "", {{"r", "10.9.0.7"}});
  ASSERT_TRUE(p4);
  EXPECT_EQ(check_static(*p4, *parse_ipv4("10.9.0.7"), {}).error().msg, "Address already in use");
}

TEST(Firewall, RendersIpv6NetworksAndPortsInTheIp6Table) {
  FwNetwork n{"br6", "10.1.0.0/24", false, true, "fd00:1::/64"};
  std::string s = render_ruleset("t", {n}, {{"tcp", "::1", 8080, "fd00:1::2", 80}, {"tcp", "", 8081, "10.1.0.2", 80}});
  auto v4 = s.substr(s.find("table ip t {"), s.find("table ip6 t {") - s.find("table ip t {"));
  auto v6 = s.substr(s.find("table ip6 t {"));
  EXPECT_NE(v6.find("ip6 daddr ::1 tcp dport 8080 dnat to [fd00:1::2]:80"), std::string::npos);
  EXPECT_EQ(v6.find("dport 8081"), std::string::npos);
  EXPECT_NE(v4.find("tcp dport 8081 dnat to 10.1.0.2:80"), std::string::npos);
  EXPECT_EQ(v4.find("8080"), std::string::npos);
  EXPECT_NE(v6.find("ip6 saddr fd00:1::/64 oifname != \"br6\" masquerade"), std::string::npos);
  EXPECT_NE(v6.find("oifname \"br6\" ip6 saddr ::1 masquerade"), std::string::npos);
}

TEST(Dns, PtrNamesAndRecords) {
  auto t = parse_ptr_name("2.0.18.172.in-addr.arpa");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->family, AF_INET);
  EXPECT_EQ(t->bytes[0], 172);
  EXPECT_EQ(t->bytes[3], 2);
  EXPECT_FALSE(parse_ptr_name("0.18.172.in-addr.arpa"));
  EXPECT_FALSE(parse_ptr_name("300.0.18.172.in-addr.arpa"));
  auto t6 = parse_ptr_name("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa");
  ASSERT_TRUE(t6);
  EXPECT_EQ(t6->family, AF_INET6);
  EXPECT_EQ(ipv6_str(ipv6_from_bytes(t6->bytes.data())), "fd00:1::2");
  EXPECT_FALSE(parse_ptr_name("example.com"));
  EXPECT_EQ(dns_ptr("a1.v6b").rdata, std::string("\x02" "a1\x03v6b\x00", 8));
  EXPECT_EQ(dns_aaaa(ipv6_bytes(*parse_ipv6("fd00::1"))).rdata.size(), 16u);
}

// A datagram socket on 127.0.0.1 with a kernel-chosen port.
UniqueFd udp_socket(uint16_t* port) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t l = sizeof sa;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&sa), &l);
  *port = ntohs(sa.sin_port);
  return s;
}

std::string query(uint16_t id, const std::string& name, uint16_t type) {
  std::string q;
  q += static_cast<char>(id >> 8);
  q += static_cast<char>(id & 0xff);
  q += std::string("\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10);
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q += static_cast<char>(dot - start);
    q += name.substr(start, dot - start);
    start = dot + 1;
  }
  q += '\0';
  q += static_cast<char>(0);
  q += static_cast<char>(type);
  q += std::string("\x00\x01", 2);
  return q;
}

TEST(DnsServer, ALocalAnswerIsNotHeldUpByASlowUpstream) {
  uint16_t up_port = 0, srv_port = 0, cli_port = 0;
  UniqueFd upstream = udp_socket(&up_port);  // never answers until told
  UniqueFd served = udp_socket(&srv_port);
  ::fcntl(served.get(), F_SETFL, O_NONBLOCK);
  DnsServer dns(
      [](const std::string&, const DnsQuestion& q) -> std::optional<std::vector<DnsRecord>> {
        if (q.name != "web") return std::nullopt;
        if (q.qtype == kDnsAaaa) return std::vector<DnsRecord>{dns_aaaa(ipv6_bytes(*parse_ipv6("fd00::2")))};
        return std::vector<DnsRecord>{dns_a(0x0a000002)};
      },
      {"127.0.0.1:" + std::to_string(up_port)}, nullptr, std::chrono::milliseconds(1500));
  ASSERT_TRUE(dns.add_sockets("c1", std::move(served), UniqueFd()));
  UniqueFd client = udp_socket(&cli_port);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(srv_port);
  auto send = [&](const std::string& q) {
    ::sendto(client.get(), q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  };
  auto recv = [&](int ms) -> std::string {
    pollfd p{client.get(), POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return {};
    char buf[1500];
    ssize_t n = ::recv(client.get(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  };
  // Two forwarded questions are in flight at the upstream...
  send(query(0x1111, "slow.example", 1));
  send(query(0x2222, "slow2.example", 1));
  char qbuf[1500];
  sockaddr_in from{};
  socklen_t fl = sizeof from;
  pollfd up{upstream.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&up, 1, 2000), 1);
  ssize_t qn = ::recvfrom(upstream.get(), qbuf, sizeof qbuf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
  ASSERT_GT(qn, 12);
  sockaddr_in from2{};
  socklen_t fl2 = sizeof from2;
  ASSERT_EQ(::poll(&up, 1, 2000), 1);
  ASSERT_GT(::recvfrom(upstream.get(), qbuf + 512, 512, 0, reinterpret_cast<sockaddr*>(&from2), &fl2), 12);
  // ...and a local name still answers at once.
  auto t0 = std::chrono::steady_clock::now();
  send(query(0x3333, "web", 28));
  std::string a = recv(1000);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_GE(a.size(), 12u);
  EXPECT_EQ(static_cast<uint8_t>(a[0]), 0x33);
  EXPECT_EQ(static_cast<uint8_t>(a[7]), 1);  // one AAAA answer
  EXPECT_EQ(a.substr(a.size() - 16), std::string(reinterpret_cast<const char*>(ipv6_bytes(*parse_ipv6("fd00::2")).data()), 16));
  EXPECT_LT(ms, 100);
  // The upstream answers the first query: relayed to the client as is.
  std::string reply(qbuf, static_cast<size_t>(qn));
  reply[2] = static_cast<char>(0x81);
  reply[3] = static_cast<char>(0x80);
  ::sendto(upstream.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
  std::string r1 = recv(1000);
  ASSERT_GE(r1.size(), 12u);
  EXPECT_EQ(static_cast<uint8_t>(r1[0]), 0x11);
  // The second never gets an answer: SERVFAIL after the upstream timeout.
  std::string r2 = recv(3000);
  ASSERT_GE(r2.size(), 12u);
  EXPECT_EQ(static_cast<uint8_t>(r2[0]), 0x22);
  EXPECT_EQ(static_cast<uint8_t>(r2[3]) & 0x0f, 2);
}

}  // namespace
}  // namespace berth::network
