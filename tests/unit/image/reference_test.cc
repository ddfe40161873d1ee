#include "image/reference.h"

#include <gtest/gtest.h>

using namespace berth;
using namespace berth::image;

TEST(NormalizeReference, Table) {
  struct Case {
    const char* in;
    const char* want;
  } cases[] = {
      {"busybox", "busybox:latest"},
      {"busybox:1.36", "busybox:1.36"},
      {"docker.io/library/busybox:1", "busybox:1"},
      {"index.docker.io/library/busybox", "busybox:latest"},
      {"library/busybox", "busybox:latest"},
      {"docker.io/foo/bar", "foo/bar:latest"},
      {"foo/bar:v2", "foo/bar:v2"},
      {"docker.io/library/a/b", "library/a/b:latest"},
      {"localhost/x", "localhost/x:latest"},
      {"localhost:5000/x", "localhost:5000/x:latest"},
      {"127.0.0.1:5000/x/y:v1", "127.0.0.1:5000/x/y:v1"},
      {"registry.example.com/team/app:1.0-rc_1", "registry.example.com/team/app:1.0-rc_1"},
      {"Reg.Example.com/app", "Reg.Example.com/app:latest"},  // domains may use upper case
      {"a__b/c.d-e---f", "a__b/c.d-e---f:latest"},
      {"busybox:UPPER", "busybox:UPPER"},
      {"busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
       "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
      {"docker.io/library/busybox:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
       "busybox:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
  };
  for (const auto& c : cases) {
    auto r = normalize_reference(c.in);
    ASSERT_TRUE(r) << c.in << ": " << r.error().msg;
    EXPECT_EQ(*r, c.want) << c.in;
  }
}

TEST(NormalizeReference, Invalid) {
  struct Case {
    const char* in;
    const char* msg;
  } cases[] = {
      {"", "invalid reference format"},
      {"Busybox", "invalid reference format: repository name must be lowercase"},
      {"foo/Bar:1", "invalid reference format: repository name must be lowercase"},
      {"bad::x", "invalid reference format"},
      {"busybox:", "invalid reference format"},
      {"busybox:-tag", "invalid reference format"},
      {"a/", "invalid reference format"},
      {"/a", "invalid reference format"},
      {"a//b", "invalid reference format"},
      {"-a", "invalid reference format"},
      {"a-", "invalid reference format"},
      {"a..b", "invalid reference format"},
      {"a b", "invalid reference format"},
      {"busybox@sha256:1234", "invalid reference format"},
      {"busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeF",
       "invalid reference format"},
      {"localhost:port/x", "invalid reference format"},
      {"-bad.com/x", "invalid reference format"},
  };
  for (const auto& c : cases) {
    auto r = normalize_reference(c.in);
    ASSERT_FALSE(r) << c.in << " gave " << *r;
    EXPECT_EQ(r.error().kind, Errc::invalid) << c.in;
    EXPECT_EQ(r.error().msg, c.msg) << c.in;
  }
  auto hex = normalize_reference(std::string(64, 'a'));
  ASSERT_FALSE(hex);
  EXPECT_NE(hex.error().msg.find("cannot specify 64-byte hexadecimal strings"), std::string::npos);
  auto longname = normalize_reference(std::string(250, 'a') + "/" + std::string(10, 'b'));
  ASSERT_FALSE(longname);
  EXPECT_NE(longname.error().msg.find("255"), std::string::npos);
  auto tag129 = normalize_reference("a:" + std::string(129, 't'));
  EXPECT_FALSE(tag129);
  EXPECT_TRUE(normalize_reference("a:" + std::string(128, 't')));
}

TEST(ParseReference, Parts) {
  auto r = parse_reference("busybox");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->domain, "docker.io");
  EXPECT_EQ(r->path, "library/busybox");
  EXPECT_EQ(r->tag, "");
  EXPECT_EQ(r->full_name(), "docker.io/library/busybox");
  EXPECT_EQ(r->familiar_name(), "busybox");
  auto r2 = parse_reference("localhost:5000/a/b:t");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->domain, "localhost:5000");
  EXPECT_EQ(r2->path, "a/b");
  EXPECT_EQ(r2->tag, "t");
  EXPECT_TRUE(is_valid_tag("v1.0_x-y"));
  EXPECT_FALSE(is_valid_tag(".v1"));
  EXPECT_FALSE(is_valid_tag("a/b"));
}
