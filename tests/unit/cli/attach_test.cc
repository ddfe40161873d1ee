#include "cli/attach.h"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

TEST(DetachKeys, DockerSpellings) {
  EXPECT_EQ(*parse_detach_keys("ctrl-p,ctrl-q"), std::string("\x10\x11"));
  EXPECT_EQ(*parse_detach_keys("ctrl-a"), std::string("\x01"));
  EXPECT_EQ(*parse_detach_keys("CTRL-Z"), std::string("\x1a"));
  EXPECT_EQ(*parse_detach_keys("a,b"), "ab");
  EXPECT_EQ(*parse_detach_keys("ctrl-@"), std::string(1, '\0'));
  EXPECT_EQ(*parse_detach_keys("ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_"), std::string("\x1b\x1c\x1d\x1e\x1f"));
  EXPECT_EQ(kDefaultDetachKeys, std::string_view("\x10\x11", 2));
}

TEST(DetachKeys, UnknownKeysRefused) {
  auto r = parse_detach_keys("ctrl-1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().msg, "Unknown character: 'ctrl-1'");
  EXPECT_FALSE(parse_detach_keys("ab"));
  EXPECT_FALSE(parse_detach_keys(""));
}

TEST(ProxiedSignals, SigProxyAndWinch) {
  EXPECT_TRUE(proxied_signals(false, false).empty());
  auto s = proxied_signals(true, false);
  EXPECT_EQ(s.size(), 7u);
  auto w = proxied_signals(false, true);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], SIGWINCH);
}

}  // namespace
}  // namespace berth::cli
