#include <gtest/gtest.h>

#include "container/user.h"

using namespace berth;
using namespace berth::container;

namespace {
const std::string kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "# comment\n"
    "app:x:1000:1000:App:/home/app:/bin/sh\n"
    "broken line\n";
const std::string kGroup =
    "root:x:0:\n"
    "wheel:x:10:app,daemon\n"
    "app:x:1000:\n"
    "audio:x:29:app\n";
}  // namespace

TEST(User, EmptyMeansRootWithItsHome) {
  auto u = *resolve_user("", kPasswd, kGroup);
  EXPECT_EQ(u.uid, 0u);
  EXPECT_EQ(u.gid, 0u);
  EXPECT_EQ(u.home, "/root");
  EXPECT_TRUE(u.additional_gids.empty());
}

TEST(User, NameResolvesUidGidHomeAndSupplementaryGroups) {
  auto u = *resolve_user("app", kPasswd, kGroup);
  EXPECT_EQ(u.uid, 1000u);
  EXPECT_EQ(u.gid, 1000u);
  EXPECT_EQ(u.home, "/home/app");
  EXPECT_EQ(u.additional_gids, (std::vector<uint32_t>{10, 29}));
}

TEST(User, ExplicitGroupByNameOrNumber) {
  auto a = *resolve_user("app:wheel", kPasswd, kGroup);
  EXPECT_EQ(a.uid, 1000u);
  EXPECT_EQ(a.gid, 10u);
  EXPECT_TRUE(a.additional_gids.empty());
  auto b = *resolve_user("1:29", kPasswd, kGroup);
  EXPECT_EQ(b.uid, 1u);
  EXPECT_EQ(b.gid, 29u);
  EXPECT_EQ(b.home, "/usr/sbin");
}

TEST(User, NumericUidWithoutEntryKeepsGidZeroAndHomeSlash) {
  auto u = *resolve_user("4242", kPasswd, kGroup);
  EXPECT_EQ(u.uid, 4242u);
  EXPECT_EQ(u.gid, 0u);
  EXPECT_EQ(u.home, "/");
  auto v = *resolve_user("4242:4343", std::nullopt, std::nullopt);
  EXPECT_EQ(v.gid, 4343u);
}

TEST(User, UnknownNamesAreErrors) {
  auto u = resolve_user("nobody", kPasswd, kGroup);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().kind, Errc::invalid);
  EXPECT_NE(u.error().msg.find("unable to find user nobody"), std::string::npos);
  EXPECT_FALSE(resolve_user("app:nogroup", kPasswd, kGroup));
  EXPECT_FALSE(resolve_user("app", std::nullopt, std::nullopt));
}

TEST(User, GroupAddAppendsNamesAndNumbers) {
  auto u = *resolve_user("0", kPasswd, kGroup, {"audio", "777"});
  EXPECT_EQ(u.additional_gids, (std::vector<uint32_t>{29, 777}));
  EXPECT_FALSE(resolve_user("0", kPasswd, kGroup, {"nosuch"}));
}
