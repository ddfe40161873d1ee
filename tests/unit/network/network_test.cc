#include <gtest/gtest.h>

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
  EXPECT_EQ(s.rfind("add table ip berth_t\ndelete table ip berth_t\ntable ip berth_t {", 0), 0u);
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
  std::string a = build_dns_answer(q, *p, {0x0a000002}, 0);
  ASSERT_EQ(a.size(), sizeof q + 16);
  EXPECT_EQ(static_cast<uint8_t>(a[2]) & 0x80, 0x80);  // a response
  EXPECT_EQ(static_cast<uint8_t>(a[7]), 1);            // one answer
  EXPECT_EQ(a.substr(a.size() - 4), std::string("\x0a\x00\x00\x02", 4));
  std::string nx = build_dns_answer(q, *p, {}, 3);
  EXPECT_EQ(static_cast<uint8_t>(nx[3]) & 0x0f, 3);
  EXPECT_FALSE(parse_dns_query(q, 10));
  EXPECT_EQ(resolv_conf_nameservers("search x\nnameserver 1.1.1.1\n# c\nnameserver  127.0.0.53\n"),
            (std::vector<std::string>{"1.1.1.1", "127.0.0.53"}));
}

}  // namespace
}  // namespace berth::network
