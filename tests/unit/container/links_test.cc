#include "container/links.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace berth::container {
namespace {

TEST(Links, ParseNameAndAlias) {
  auto l = parse_link("db:webdb");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->child, "db");
  EXPECT_EQ(l->alias, "webdb");
  l = parse_link("/db");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->child, "db");
  EXPECT_EQ(l->alias, "db");
  EXPECT_FALSE(parse_link(":x"));
  EXPECT_FALSE(parse_link("db:"));
  EXPECT_FALSE(parse_link("a:b:c"));
}

TEST(Links, CanonicalFormRoundTrips) {
  EXPECT_EQ(canonical_link("db", "/w2", "webdb"), "/db:/w2/webdb");
  auto l = split_canonical_link("/db:/w2/webdb");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->child, "db");
  EXPECT_EQ(l->alias, "webdb");
}

// What dockerd 20.10 gave for `--link db:webdb` to a container started with
// -e FOO=bar -e PATH=… -e HOME=… --expose 5432 --expose 53/udp at 10.213.0.2.
TEST(Links, EnvMatchesDockerd) {
  Json exposed{{"5432/tcp", Json::object()}, {"53/udp", Json::object()}};
  Json env = Json::array({"FOO=bar", "PATH=/bin:/x", "HOME=/h"});
  auto got = link_env("/web", "webdb", "10.213.0.2", exposed, env);
  std::sort(got.begin(), got.end());
  std::vector<std::string> want = {
      "WEBDB_ENV_FOO=bar",
      "WEBDB_NAME=/web/webdb",
      "WEBDB_PORT=udp://10.213.0.2:53",
      "WEBDB_PORT_53_UDP=udp://10.213.0.2:53",
      "WEBDB_PORT_53_UDP_ADDR=10.213.0.2",
      "WEBDB_PORT_53_UDP_PORT=53",
      "WEBDB_PORT_53_UDP_PROTO=udp",
      "WEBDB_PORT_5432_TCP=tcp://10.213.0.2:5432",
      "WEBDB_PORT_5432_TCP_ADDR=10.213.0.2",
      "WEBDB_PORT_5432_TCP_PORT=5432",
      "WEBDB_PORT_5432_TCP_PROTO=tcp",
  };
  EXPECT_EQ(got, want);
}

// `--expose 7000-7002`: the first port of the run carries _START/_END.
TEST(Links, PortRangeGetsStartAndEnd) {
  Json exposed{{"7000/tcp", Json::object()}, {"7001/tcp", Json::object()}, {"7002/tcp", Json::object()}};
  auto got = link_env("/p", "my-al.x", "10.0.0.3", exposed, Json::array({"A=1"}));
  std::sort(got.begin(), got.end());
  std::vector<std::string> want = {
      "MY_AL.X_ENV_A=1",
      "MY_AL.X_NAME=/p/my-al.x",
      "MY_AL.X_PORT=tcp://10.0.0.3:7000",
      "MY_AL.X_PORT_7000_TCP=tcp://10.0.0.3:7000",
      "MY_AL.X_PORT_7000_TCP_ADDR=10.0.0.3",
      "MY_AL.X_PORT_7000_TCP_END=tcp://10.0.0.3:7002",
      "MY_AL.X_PORT_7000_TCP_PORT=7000",
      "MY_AL.X_PORT_7000_TCP_PORT_END=7002",
      "MY_AL.X_PORT_7000_TCP_PORT_START=7000",
      "MY_AL.X_PORT_7000_TCP_PROTO=tcp",
      "MY_AL.X_PORT_7000_TCP_START=tcp://10.0.0.3:7000",
      "MY_AL.X_PORT_7001_TCP=tcp://10.0.0.3:7001",
      "MY_AL.X_PORT_7001_TCP_ADDR=10.0.0.3",
      "MY_AL.X_PORT_7001_TCP_PORT=7001",
      "MY_AL.X_PORT_7001_TCP_PROTO=tcp",
      "MY_AL.X_PORT_7002_TCP=tcp://10.0.0.3:7002",
      "MY_AL.X_PORT_7002_TCP_ADDR=10.0.0.3",
      "MY_AL.X_PORT_7002_TCP_PORT=7002",
      "MY_AL.X_PORT_7002_TCP_PROTO=tcp",
  };
  EXPECT_EQ(got, want);
}

TEST(Links, HostsLine) {
  EXPECT_EQ(link_hosts_line("10.213.0.2", "webdb", "5567679dfa5c", "/db"), "10.213.0.2\twebdb 5567679dfa5c db\n");
  EXPECT_EQ(link_hosts_line("10.213.0.3", "rr", "531a1b18fa2e", "/rr"), "10.213.0.3\trr 531a1b18fa2e\n");
}

}  // namespace
}  // namespace berth::container
