#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/unique_fd.h"
#include "logging/drivers.h"

using namespace berth;
using namespace berth::logging;

namespace {

// A UDP or TCP listener on 127.0.0.1 with an ephemeral port.
struct Listener {
  UniqueFd fd;
  int port = 0;
  explicit Listener(int type) : fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t l = sizeof a;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &l);
    port = ntohs(a.sin_port);
    if (type == SOCK_STREAM) ::listen(fd.get(), 4);
  }
  std::string recv_dgram(int timeout_ms = 2000) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return {};
    char buf[65536];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
};

std::string gunzip(const std::string& in) {
  z_stream z{};
  inflateInit2(&z, 47);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  inflate(&z, Z_FINISH);
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  return out;
}

}  // namespace

TEST(LogOpts, ValidationAsDockerd) {
  EXPECT_TRUE(validate_log_config("json-file", {{"max-size", "10m"}, {"max-file", "3"}, {"labels", "a"}}));
  EXPECT_EQ(validate_log_config("json-file", {{"max-sise", "1"}}).error().msg,
            "unknown log opt 'max-sise' for json-file log driver");
  EXPECT_EQ(validate_log_config("bogus", {}).error().msg, "logger: no log driver named 'bogus' is registered");
  EXPECT_EQ(validate_log_config("json-file", {{"max-size", "10x"}}).error().msg, "invalid size: '10x'");
  EXPECT_EQ(validate_log_config("json-file", {{"max-file", "0"}}).error().msg, "max-file cannot be less than 1");
  EXPECT_EQ(validate_log_config("json-file", {{"mode", "fast"}}).error().msg,
            "logger: logging mode not supported: fast");
  EXPECT_EQ(validate_log_config("json-file", {{"max-buffer-size", "1m"}}).error().msg,
            "logger: max-buffer-size option is only supported with 'mode=non-blocking'");
  EXPECT_TRUE(validate_log_config("json-file", {{"mode", "non-blocking"}, {"max-buffer-size", "4m"}}));
  EXPECT_TRUE(validate_log_config("none", {{"anything", "x"}}));
  EXPECT_EQ(validate_log_config("syslog", {{"syslog-address", "ftp://x"}}).error().msg,
            "syslog-address should be in form proto://address, got ftp://x");
  EXPECT_EQ(validate_log_config("syslog", {{"syslog-facility", "nope"}}).error().msg, "invalid syslog facility");
  EXPECT_EQ(validate_log_config("syslog", {{"syslog-format", "x"}}).error().msg, "Invalid syslog format");
  EXPECT_TRUE(validate_log_config("syslog", {{"syslog-address", "udp://127.0.0.1"}, {"syslog-format", "rfc5424"}}));
  EXPECT_EQ(validate_log_config("gelf", {}).error().msg, "gelf-address is a required parameter");
  EXPECT_EQ(validate_log_config("gelf", {{"gelf-address", "http://x:1"}}).error().msg,
            "gelf: endpoint needs to be TCP or UDP");
  EXPECT_TRUE(validate_log_config("journald", {{"tag", "x"}}));
  EXPECT_FALSE(driver_readable("syslog"));
  EXPECT_TRUE(driver_readable("local"));
  EXPECT_EQ(*parse_ram_bytes("10k"), 10240);
  EXPECT_EQ(*parse_ram_bytes("2MB"), 2 * 1024 * 1024);
}

TEST(LogTag, Templates) {
  TagInfo i{"0123456789abcdef0123", "web", "sha256:fedcba9876543210", "busybox:latest"};
  EXPECT_EQ(*render_tag("{{.ID}}", i), "0123456789ab");
  EXPECT_EQ(*render_tag("{{.Name}}/{{.ImageName}}/{{.ImageID}}", i), "web/busybox:latest/fedcba987654");
  EXPECT_EQ(*render_tag("x-{{.FullID}}", i), "x-0123456789abcdef0123");
  EXPECT_FALSE(render_tag("{{.Nope}}", i));
}

TEST(Syslog, FormatsAsDockersDriver) {
  int64_t t = 1700000000123456000;  // 2023-11-14T22:13:20.123456Z
  EXPECT_EQ(format_syslog("", 30, t, "h", "tag", 7, "msg"), "<30>Nov 14 22:13:20 tag[7]: msg\n");
  EXPECT_EQ(format_syslog("rfc3164", 27, t, "h", "tag", 7, "msg"), "<27>Nov 14 22:13:20 h tag[7]: msg\n");
  EXPECT_EQ(format_syslog("rfc5424", 30, t, "h", "tag", 7, "msg"),
            "<30>1 2023-11-14T22:13:20Z h tag 7 tag - msg\n");
  EXPECT_EQ(format_syslog("rfc5424micro", 30, t, "h", "tag", 7, "msg"),
            "<30>1 2023-11-14T22:13:20.123456Z h tag 7 tag - msg\n");
}

TEST(Syslog, SendsOneDatagramPerLineOverUdp) {
  Listener l(SOCK_DGRAM);
  DriverConfig c;
  c.type = "syslog";
  c.tag = "web";
  c.opts = {{"syslog-address", "udp://127.0.0.1:" + std::to_string(l.port)}, {"syslog-format", "rfc5424"},
            {"syslog-facility", "local0"}};
  auto d = make_driver(c);
  ASSERT_TRUE(d) << d.error().msg;
  ASSERT_TRUE((*d)->write(Stream::out, "one\ntw", 1700000000000000000));
  ASSERT_TRUE((*d)->write(Stream::err, "err\n", 1700000000000000000));
  ASSERT_TRUE((*d)->write(Stream::out, "o\n", 1700000000000000000));
  std::string a = l.recv_dgram(), b = l.recv_dgram(), e = l.recv_dgram();
  EXPECT_EQ(a.substr(0, 28), "<134>1 2023-11-14T22:13:20Z ");  // local0 (16) * 8 + info (6)
  EXPECT_NE(a.find(" web "), std::string::npos);
  EXPECT_EQ(a.substr(a.size() - 6), "- one\n");
  EXPECT_EQ(b.substr(0, 5), "<131>");  // stderr → err (3)
  EXPECT_EQ(b.substr(b.size() - 6), "- err\n");
  EXPECT_EQ(e.substr(e.size() - 6), "- two\n");
}

TEST(Gelf, UdpGzipAndChunking) {
  Listener l(SOCK_DGRAM);
  DriverConfig c;
  c.type = "gelf";
  c.tag = "t1";
  c.opts = {{"gelf-address", "udp://127.0.0.1:" + std::to_string(l.port)}};
  c.info = {{"container_name", "/web"}, {"container_id", "abc"}};
  auto d = make_driver(c);
  ASSERT_TRUE(d) << d.error().msg;
  ASSERT_TRUE((*d)->write(Stream::err, "boom\n", 1700000000250000000));
  std::string m = gunzip(l.recv_dgram());
  auto j = parse_json(m);
  ASSERT_TRUE(j) << m;
  EXPECT_EQ((*j)["version"], "1.1");
  EXPECT_EQ((*j)["short_message"], "boom");
  EXPECT_EQ((*j)["level"], 3);
  EXPECT_DOUBLE_EQ((*j)["timestamp"].get<double>(), 1700000000.25);
  EXPECT_EQ((*j)["_container_name"], "/web");
  EXPECT_EQ((*j)["_tag"], "t1");
  // Chunks: magic, 8-byte id, seq, count; payload split across them.
  std::string big(3000, 'x');
  auto chunks = gelf_chunks(big, 1420, 0x0102030405060708ULL);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].substr(0, 2), "\x1e\x0f");
  EXPECT_EQ(chunks[1][10], 1);
  EXPECT_EQ(chunks[1][11], 3);
  EXPECT_EQ(chunks[0].size(), 1420u);
  EXPECT_EQ(gelf_chunks("small", 1420, 1).size(), 1u);
}

TEST(JsonFileDriver, RotatesAndReadsAcrossFiles) {
  char tmpl[] = "/tmp/berth-logtest-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  DriverConfig c;
  c.type = "json-file";
  c.path = dir + "/c-json.log";
  c.opts = {{"max-size", "1k"}, {"max-file", "3"}};
  c.attrs = {{"team", "x"}};
  {
    auto d = make_driver(c);
    ASSERT_TRUE(d);
    for (int i = 0; i < 200; ++i)
      ASSERT_TRUE((*d)->write(Stream::out, "line-" + std::to_string(i) + "\n", 1700000000000000000 + i));
    ASSERT_TRUE((*d)->close(1700000001000000000));
  }
  auto rotated = rotated_log_files(c.path);
  ASSERT_EQ(rotated.size(), 2u);  // .2 and .1
  EXPECT_EQ(rotated[0], c.path + ".2");
  std::ifstream f(c.path);
  std::string first;
  std::getline(f, first);
  EXPECT_NE(first.find(R"("stream":"stdout","attrs":{"team":"x"},"time":)"), std::string::npos) << first;
  auto r = JsonFileReader::open(c.path);
  ASSERT_TRUE(r);
  std::vector<std::string> got;
  ReadOptions o;
  ASSERT_TRUE(r->read_existing(o, [&](const LogEntry& e) {
    got.push_back(e.payload);
    return true;
  }));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), "line-199\n");
  for (size_t i = 1; i < got.size(); ++i)  // consecutive across the files
    EXPECT_EQ(std::stoi(got[i].substr(5)), std::stoi(got[i - 1].substr(5)) + 1);
  // tail crosses into the rotated files
  auto r2 = JsonFileReader::open(c.path);
  std::vector<std::string> tail;
  o.tail = static_cast<int64_t>(got.size()) - 3;
  ASSERT_TRUE(r2->read_existing(o, [&](const LogEntry& e) {
    tail.push_back(e.payload);
    return true;
  }));
  ASSERT_EQ(tail.size(), got.size() - 3);
  EXPECT_EQ(tail.front(), got[3]);
  std::string cmd = "rm -rf " + dir;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST(JsonFileReader, SinceBisectsLargeFiles) {
  char tmpl[] = "/tmp/berth-logtest-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string path = dir + "/big-json.log";
  {
    auto w = JsonFileWriter::open(path);
    ASSERT_TRUE(w);
    for (int i = 0; i < 200000; ++i)
      ASSERT_TRUE((*w)->write(Stream::out, "entry " + std::to_string(i) + "\n", 1700000000000000000 + int64_t(i) * 1000));
    ASSERT_TRUE((*w)->close(1800000000000000000));
  }
  auto r = JsonFileReader::open(path);
  ReadOptions o;
  o.since_ns = 1700000000000000000 + 199990 * 1000;
  std::vector<std::string> got;
  ASSERT_TRUE(r->read_existing(o, [&](const LogEntry& e) {
    got.push_back(e.payload);
    return true;
  }));
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got[0], "entry 199990\n");
  std::string cmd = "rm -rf " + dir;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST(NonBlocking, DeliversInOrderAndDropsOldestWhenFull) {
  char tmpl[] = "/tmp/berth-logtest-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  DriverConfig c;
  c.type = "json-file";
  c.path = dir + "/nb-json.log";
  c.opts = {{"mode", "non-blocking"}, {"max-buffer-size", "1m"}};
  {
    auto d = make_driver(c);
    ASSERT_TRUE(d);
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE((*d)->write(Stream::out, std::to_string(i) + "\n", 1700000000000000000));
    ASSERT_TRUE((*d)->close(1700000000000000000));
  }
  auto r = JsonFileReader::open(c.path);
  std::vector<std::string> got;
  ASSERT_TRUE(r->read_existing({}, [&](const LogEntry& e) {
    got.push_back(e.payload);
    return true;
  }));
  ASSERT_EQ(got.size(), 1000u);  // under the limit nothing is dropped
  EXPECT_EQ(got[999], "999\n");
  std::string cmd = "rm -rf " + dir;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

// Names in syslog/gelf addresses are resolved by berthd (resolve_driver_addrs)
// and handed to the shim as numeric addresses in the driver config: the
// drivers themselves never look a name up (no getaddrinfo in the shim).
TEST(DriverAddrs, NamesAreResolvedBeforeTheDriverAndTravelInTheConfig) {
  Listener l(SOCK_DGRAM);
  DriverConfig c;
  c.type = "gelf";
  c.opts = {{"gelf-address", "udp://localhost:" + std::to_string(l.port)}, {"gelf-compression-type", "none"}};
  // Unresolved: the driver refuses the name instead of looking it up.
  auto bad = make_driver(c);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().msg.find("is not a numeric address"), std::string::npos) << bad.error().msg;
  ASSERT_TRUE(resolve_driver_addrs(c));
  ASSERT_EQ(c.dial_addrs, std::vector<std::string>{"127.0.0.1:" + std::to_string(l.port)});
  // The shim reads the config back from JSON: the addresses survive it.
  auto back = driver_config_from_json(driver_config_to_json(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->dial_addrs, c.dial_addrs);
  auto d = make_driver(*back);
  ASSERT_TRUE(d) << d.error().msg;
  ASSERT_TRUE((*d)->write(Stream::out, "by-name\n", 1700000000000000000));
  EXPECT_NE(l.recv_dgram().find("\"short_message\":\"by-name\""), std::string::npos);
}

TEST(DriverAddrs, SyslogByNameAndErrorsOfAnUnknownName) {
  Listener l(SOCK_DGRAM);
  DriverConfig c;
  c.type = "syslog";
  c.tag = "t";
  c.opts = {{"syslog-address", "udp://localhost:" + std::to_string(l.port)}};
  ASSERT_TRUE(resolve_driver_addrs(c));
  auto d = make_driver(c);
  ASSERT_TRUE(d) << d.error().msg;
  ASSERT_TRUE((*d)->write(Stream::out, "sys-by-name\n", 1700000000000000000));
  EXPECT_NE(l.recv_dgram().find("sys-by-name"), std::string::npos);

  DriverConfig g;
  g.type = "gelf";
  g.opts = {{"gelf-address", "udp://no-such-host.invalid:12201"}};
  auto st = resolve_driver_addrs(g);
  ASSERT_FALSE(st);
  // dockerd: "… dial udp: lookup no-such-host.invalid on 10.255.255.53:53: no such host".
  EXPECT_EQ(st.error().msg,
            "gelf: cannot connect to GELF endpoint: no-such-host.invalid:12201 dial udp: lookup "
            "no-such-host.invalid: no such host");
  // Unix sockets and tcp+tls (dialed by berth-log-tls) are left alone.
  DriverConfig u;
  u.type = "syslog";
  u.opts = {{"syslog-address", "tcp+tls://localhost:6514"}};
  ASSERT_TRUE(resolve_driver_addrs(u));
  EXPECT_TRUE(u.dial_addrs.empty());
}
