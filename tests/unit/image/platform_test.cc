#include "image/platform.h"

#include <gtest/gtest.h>

namespace berth::image {
namespace {

TEST(Platform, ParsesAndNormalises) {
  auto p = parse_platform("linux/arm64");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->os, "linux");
  EXPECT_EQ(p->architecture, "arm64");
  EXPECT_EQ(p->variant, "");
  p = parse_platform("Linux/x86_64");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->architecture, "amd64");
  p = parse_platform("linux/armhf");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->architecture, "arm");
  EXPECT_EQ(p->variant, "v7");
  p = parse_platform("linux/arm/v6");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->variant, "v6");
  p = parse_platform("arm64");  // an architecture alone: linux
  ASSERT_TRUE(p);
  EXPECT_EQ(p->os, "linux");
  EXPECT_EQ(p->architecture, "arm64");
  p = parse_platform("windows");  // an OS alone: this host's architecture
  ASSERT_TRUE(p);
  EXPECT_EQ(p->os, "windows");
  EXPECT_FALSE(p->architecture.empty());
  EXPECT_FALSE(check_platform_os(*p));
  EXPECT_TRUE(check_platform_os(*parse_platform("linux/amd64")));
}

TEST(Platform, RefusesUnknownParts) {
  auto p = parse_platform("foo/bar");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().msg, "\"foo/bar\": unknown operating system or architecture: invalid argument");
  EXPECT_FALSE(parse_platform("linux/amd64/v1/x"));
  EXPECT_FALSE(parse_platform("linux//amd64"));
  EXPECT_FALSE(parse_platform("li nux/amd64"));
}

}  // namespace
}  // namespace berth::image
