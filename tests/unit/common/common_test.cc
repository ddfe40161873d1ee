#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "common/id.h"
#include "common/json.h"
#include "common/net.h"
#include "common/result.h"
#include "common/strings.h"
#include "common/time.h"

using namespace berth;

namespace {
Result<int> half(int x) {
  if (x % 2) return make_error(Errc::invalid, "odd");
  return x / 2;
}
Result<int> quarter(int x) {
  int h = BERTH_TRY(half(x));
  return BERTH_TRY(half(h));
}
}  // namespace

TEST(Result, PropagatesErrors) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid);
  EXPECT_EQ(r.error().msg, "odd");
}

TEST(Result, SysErrorKinds) {
  EXPECT_EQ(sys_error("x", ENOENT).kind, Errc::not_found);
  EXPECT_EQ(sys_error("x", EEXIST).kind, Errc::conflict);
  EXPECT_EQ(sys_error("x", EPERM).kind, Errc::forbidden);
  EXPECT_NE(sys_error("open /a", ENOENT).msg.find("open /a: "), std::string::npos);
}

TEST(Strings, QueryBoolLikeDockerd) {
  for (auto f : {"", "0", "no", "false", "FALSE", "None", "False"}) EXPECT_FALSE(str::parse_query_bool(f)) << f;
  for (auto t : {"1", "true", "True", "yes"}) EXPECT_TRUE(str::parse_query_bool(t)) << t;
}

TEST(Strings, UrlDecode) {
  EXPECT_EQ(str::url_decode("a%20b+c%2Fd%"), "a b c/d%");
  EXPECT_EQ(str::url_decode(str::url_encode("{\"a\":[1]} /")), "{\"a\":[1]} /");
  EXPECT_EQ(str::url_encode("a b/c:d"), "a%20b%2Fc%3Ad");
  EXPECT_EQ(str::url_encode("127.0.0.1:5000/x y", ":@/"), "127.0.0.1:5000/x%20y");
}

TEST(Digest, ParseAndHash) {
  EXPECT_FALSE(Digest::parse("sha256:abc"));
  EXPECT_FALSE(Digest::parse("md5:" + std::string(64, 'a')));
  auto d = Digest::of("");
  EXPECT_EQ(d.str(), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_TRUE(Digest::parse(d.str()));
  EXPECT_EQ(random_hex_id().size(), 64u);
  EXPECT_NE(random_hex_id(), random_hex_id());
}

TEST(Time, Rfc3339RoundTrip) {
  EXPECT_EQ(timeutil::rfc3339_nano(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(timeutil::rfc3339_nano(1500000000LL), "1970-01-01T00:00:01.5Z");
  auto t = timeutil::parse_rfc3339("2026-11-29T19:48:21.123456789Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(timeutil::rfc3339_nano(*t), "2026-11-29T19:48:21.123456789Z");
  auto o = timeutil::parse_rfc3339("2026-11-29T21:48:21+02:00");
  ASSERT_TRUE(o);
  EXPECT_EQ(timeutil::rfc3339_nano(*o), "2026-11-29T19:48:21Z");
  EXPECT_FALSE(timeutil::parse_rfc3339("yesterday"));
  EXPECT_FALSE(timeutil::parse_rfc3339("2026-13-01T00:00:00Z"));
  char buf[48];
  EXPECT_EQ(std::string(buf, timeutil::format_rfc3339(buf, 1500000000LL, true)),
            "1970-01-01T00:00:01.500000000Z");
  EXPECT_EQ(timeutil::days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(timeutil::days_from_civil(2000, 3, 1), 11017);
  int y;
  unsigned m, d;
  timeutil::civil_from_days(-1, &y, &m, &d);
  EXPECT_EQ(y * 10000 + static_cast<int>(m) * 100 + static_cast<int>(d), 19691231);
}

TEST(Fs, AtomicWriteAndRemoveAll) {
  char tmpl[] = "/tmp/berth-fs-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string root = tmpl;
  ASSERT_TRUE(fs::mkdir_p(root + "/a/b/c"));
  ASSERT_TRUE(fs::write_file_atomic(root + "/a/b/c/f", "hello"));
  EXPECT_EQ(*fs::read_file(root + "/a/b/c/f"), "hello");
  ASSERT_TRUE(fs::write_file_atomic(root + "/a/b/c/f", "bye", fs::Durability::none));
  EXPECT_EQ(*fs::read_file(root + "/a/b/c/f"), "bye");
  EXPECT_EQ(fs::list_dir(root + "/a/b/c").size(), 1u);  // no temp files left
  ASSERT_EQ(::symlink("/etc", (root + "/a/link").c_str()), 0);
  ASSERT_TRUE(fs::remove_all(root));
  EXPECT_FALSE(fs::exists(root));
  EXPECT_TRUE(fs::exists("/etc/passwd"));  // symlink not followed
  EXPECT_TRUE(fs::remove_all(root));        // missing is fine
}

TEST(Json, ParseErrorsAreInvalid) {
  auto r = parse_json("{\"a\": ");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid);
  EXPECT_EQ((*parse_json("{\"a\":1}"))["a"], 1);
}

TEST(Net, ResolveGivesNumericAddressesAndDialNumericRefusesNames) {
  auto r = net::resolve("localhost:514", SOCK_DGRAM);
  ASSERT_TRUE(r) << r.error().msg;
  ASSERT_FALSE(r->empty());
  for (const auto& a : *r) EXPECT_TRUE(a == "127.0.0.1:514" || a == "[::1]:514") << a;
  auto bad = net::dial_numeric("localhost:514", {}, SOCK_DGRAM);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().msg, "dial udp localhost:514: localhost:514 is not a numeric address");
  // A numeric hostport dials itself; every listed address must be numeric.
  EXPECT_TRUE(net::dial_numeric("127.0.0.1:514", {}, SOCK_DGRAM));
  EXPECT_FALSE(net::dial_numeric("x:1", {"x:514"}, SOCK_DGRAM));
  auto refused = net::dial_numeric("name:1", {"127.0.0.1:1"}, SOCK_STREAM);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().msg, "dial tcp name:1: connect: Connection refused");
}

TEST(Fs, ReadFileReadsRegularProcAndEmptyFilesWhole) {
  char tmpl[] = "/tmp/berth-readfile-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string root = tmpl;
  std::string big(200000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(fs::write_file_atomic(root + "/big", big, fs::Durability::none));
  ASSERT_TRUE(fs::write_file_atomic(root + "/empty", "", fs::Durability::none));
  EXPECT_EQ(*fs::read_file(root + "/big"), big);
  EXPECT_EQ(*fs::read_file(root + "/empty"), "");
  // /proc files report size 0: read until EOF all the same.
  auto status = fs::read_file("/proc/self/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->rfind("Name:", 0), 0u);
  EXPECT_NE(status->find("VmRSS:"), std::string::npos);
  auto smaps = fs::read_file("/proc/self/smaps");  // several 4 KiB steps
  ASSERT_TRUE(smaps);
  EXPECT_GT(smaps->size(), 8192u);
  EXPECT_EQ(smaps->back(), '\n');
  EXPECT_FALSE(fs::read_file(root + "/missing"));
  (void)fs::remove_all(root);
}
