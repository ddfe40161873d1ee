#include <gtest/gtest.h>

#include "daemon/config.h"
#include "daemon/routes.h"

using namespace berth;
using namespace berth::daemon;

TEST(Config, FlagsAsDockerd) {
  auto c = *parse_flags({"-H", "unix:///tmp/a.sock", "--host=unix:///tmp/b.sock", "--data-root", "/d",
                         "--exec-root=/e", "-D", "--live-restore", "--pidfile", "/p", "--add-runtime",
                         "runc=/usr/sbin/runc", "--default-runtime", "runc", "-G", "wheel"});
  EXPECT_EQ(c.hosts, (std::vector<std::string>{"unix:///tmp/a.sock", "unix:///tmp/b.sock"}));
  EXPECT_EQ(c.data_root, "/d");
  EXPECT_EQ(c.exec_root, "/e");
  EXPECT_TRUE(c.debug);
  EXPECT_EQ(c.log_level, log::Level::debug);
  EXPECT_TRUE(c.live_restore);
  EXPECT_EQ(c.pidfile, "/p");
  EXPECT_EQ(c.runtimes.at("runc"), "/usr/sbin/runc");
  EXPECT_EQ(c.default_runtime, "runc");
  EXPECT_EQ(c.group, "wheel");
  EXPECT_TRUE(c.from_flags.count("hosts"));
}

TEST(Config, BadFlags) {
  auto u = parse_flags({"--bogus"});
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().msg.find("unknown flag: --bogus"), std::string::npos);
  EXPECT_FALSE(parse_flags({"--data-root"}));
  EXPECT_FALSE(parse_flags({"--log-level", "loud"}));
  EXPECT_FALSE(parse_flags({"--add-runtime", "noequals"}));
  EXPECT_FALSE(parse_flags({"--live-restore=maybe"}));
  EXPECT_TRUE(parse_flags({"--version"})->show_version);
  EXPECT_TRUE(parse_flags({"-h"})->show_help);
}

TEST(Config, FileKeysApply) {
  Config c = *parse_flags({});
  ASSERT_TRUE(apply_config_file(c, R"({"hosts":["unix:///x.sock"],"data-root":"/dr","exec-root":"/er",
      "log-level":"warn","live-restore":true,"default-runtime":"runc",
      "runtimes":{"runc":{"path":"/usr/sbin/runc"}}})"));
  EXPECT_EQ(c.hosts, std::vector<std::string>{"unix:///x.sock"});
  EXPECT_EQ(c.data_root, "/dr");
  EXPECT_EQ(c.log_level, log::Level::warn);
  EXPECT_TRUE(c.live_restore);
  EXPECT_EQ(c.runtimes.at("runc"), "/usr/sbin/runc");
}

TEST(Config, UnknownKeyAndFlagConflictAreErrors) {
  Config c = *parse_flags({});
  auto u = apply_config_file(c, R"({"data-root":"/x","graph-x":"vfs","bogus":1})");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().msg,
            "the following directives don't match any configuration option: bogus, graph-x");
  Config f = *parse_flags({"--data-root", "/a"});
  auto both = apply_config_file(f, R"({"data-root":"/b"})");
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().msg.find("specified both as a flag and in the configuration file: data-root"),
            std::string::npos);
  Config t = *parse_flags({});
  EXPECT_FALSE(apply_config_file(t, R"({"debug":"yes"})"));
  EXPECT_FALSE(apply_config_file(t, R"({"hosts":"unix:///x"})"));
  EXPECT_FALSE(apply_config_file(t, R"({"runtimes":{"r":{"path":"/x","options":{}}}})"));
  EXPECT_FALSE(apply_config_file(t, "{not json"));
}

TEST(Config, LoadDefaultsAndMissingExplicitFile) {
  // The default /etc/berth/daemon.json may be absent: that is fine.
  auto d = *load_config({});
  EXPECT_EQ(d.hosts, std::vector<std::string>{"unix:///run/berth/berth.sock"});
  EXPECT_EQ(d.pidfile, "/run/berth/berthd.pid");
  EXPECT_EQ(d.data_root, "/var/lib/berth");
  auto m = load_config({"--config-file", "/nonexistent-berth-dir/daemon.json"});
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().msg.find("no such file"), std::string::npos);
}

TEST(Config, UnixSocketPaths) {
  EXPECT_EQ(*unix_socket_path("unix:///run/x.sock"), "/run/x.sock");
  EXPECT_FALSE(unix_socket_path("tcp://0.0.0.0:2375"));
  EXPECT_FALSE(unix_socket_path("unix://relative"));
  EXPECT_FALSE(unix_socket_path("fd://"));
}

TEST(Timestamps, DockerForms) {
  EXPECT_EQ(*parse_timestamp("10"), 10'000'000'000);
  EXPECT_EQ(*parse_timestamp("1700000000.5"), 1700000000'500000000);
  EXPECT_EQ(*parse_timestamp("1700000000.000000001"), 1700000000'000000001);
  EXPECT_EQ(*parse_timestamp("2023-11-14T22:13:20Z"), 1700000000'000000000);
  EXPECT_EQ(*parse_timestamp(""), 0);
  EXPECT_FALSE(parse_timestamp("soon"));
  EXPECT_FALSE(parse_timestamp("1.1234567890"));
}

TEST(Config, NetworkFlagsAndKeys) {
  auto c = *parse_flags({"-b", "bt1", "--bip", "10.9.0.1/24", "--fixed-cidr=10.9.0.128/25", "--iptables=false",
                         "--ip-forward=false", "--nft-table", "berth_t", "--default-address-pool",
                         "base=10.50.0.0/16,size=24", "--mtu", "1400", "--ip", "127.0.0.1",
                         "--userland-proxy=false"});
  EXPECT_EQ(c.bridge, "bt1");
  EXPECT_EQ(c.bip, "10.9.0.1/24");
  EXPECT_EQ(c.fixed_cidr, "10.9.0.128/25");
  EXPECT_FALSE(c.iptables);
  EXPECT_FALSE(c.ip_forward);
  EXPECT_EQ(c.nft_table, "berth_t");
  EXPECT_EQ(c.default_address_pools, (std::vector<std::string>{"base=10.50.0.0/16,size=24"}));
  EXPECT_EQ(c.mtu, 1400);
  EXPECT_EQ(c.default_ip, "127.0.0.1");
  EXPECT_FALSE(c.userland_proxy);
  // The userland proxy is on by default, as dockerd's.
  EXPECT_TRUE(parse_flags({})->userland_proxy);
  EXPECT_TRUE(parse_flags({"--userland-proxy"})->userland_proxy);
  EXPECT_FALSE(parse_flags({"--userland-proxy=maybe"}));
  EXPECT_FALSE(parse_flags({"--mtu", "10"}));

  Config f;
  ASSERT_TRUE(apply_config_file(f, R"({"bridge":"bt2","bip":"10.8.0.1/24","ip":"127.0.0.1","iptables":false,
      "default-address-pools":[{"base":"10.60.0.0/16","size":26}],"mtu":1450,"userland-proxy":false})"));
  EXPECT_EQ(f.bridge, "bt2");
  EXPECT_EQ(f.default_ip, "127.0.0.1");
  EXPECT_EQ(f.default_address_pools, (std::vector<std::string>{"base=10.60.0.0/16,size=26"}));
  EXPECT_EQ(f.mtu, 1450);
  Config g;
  EXPECT_FALSE(apply_config_file(g, R"({"default-address-pools":[{"base":"10.60.0.0/16"}]})"));
  EXPECT_FALSE(f.userland_proxy);
  Config h;
  ASSERT_TRUE(apply_config_file(h, R"({"userland-proxy":true})"));
  EXPECT_TRUE(h.userland_proxy);
  EXPECT_FALSE(apply_config_file(h, R"({"userland-proxy":"yes"})"));
}

TEST(Config, LogDefaultsUlimitsStorageDriverAndReload) {
  Config c = *parse_flags({"--log-opt", "max-size=1m", "--default-ulimit", "nofile=100:200"});
  EXPECT_EQ(c.log_opts.at("max-size"), "1m");
  EXPECT_EQ(c.default_ulimits["nofile"]["Soft"], 100);
  EXPECT_EQ(c.default_ulimits["nofile"]["Hard"], 200);
  EXPECT_FALSE(parse_flags({"--default-ulimit", "nofile=300:200"}));
  c = *parse_flags({"--log-opt", "max-size=1m"});
  ASSERT_TRUE(apply_config_file(c, R"({"log-driver":"syslog","labels":["a=b"],"storage-driver":"overlay2",
      "default-ulimits":{"nproc":{"Name":"nproc","Soft":5,"Hard":6}}})"));
  EXPECT_EQ(c.log_driver, "syslog");
  EXPECT_EQ(c.labels, std::vector<std::string>{"a=b"});
  EXPECT_EQ(c.default_ulimits["nproc"]["Hard"], 6);
  // log-opts given both as a flag and in the file is a conflict, as dockerd's
  auto both = apply_config_file(c, R"({"log-opts":{"max-file":"2"}})");
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().msg.find("log-opts"), std::string::npos);
  // reload: only dockerd's reloadable keys are reported and applied
  Config live = *parse_flags({});
  Config fresh = live;
  fresh.debug = true;
  fresh.live_restore = true;
  fresh.log_driver = "none";  // not reloadable
  auto changed = reload_diff(live, fresh, true);
  EXPECT_EQ(changed, (std::vector<std::string>{"debug", "live-restore"}));
  EXPECT_TRUE(live.debug);
  EXPECT_TRUE(live.live_restore);
  EXPECT_EQ(live.log_driver, "json-file");
}
