#include <gtest/gtest.h>
#include <sys/mount.h>

#include "volume/service.h"

namespace berth::volume {
namespace {

TEST(Volume, NamesFollowDockersRule) {
  EXPECT_TRUE(validate_name("data_1.x-y"));
  for (const char* bad : {"a", "a/b", "..", "-x", "x y", ""}) {
    auto st = validate_name(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().kind, Errc::invalid);
  }
  EXPECT_NE(validate_name("a/b").error().msg.find("includes invalid characters for a local volume name"),
            std::string::npos);
}

TEST(Volume, PlansTheLocalDriversMountCall) {
  auto none = plan_mount(Json::object());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->source.empty());
  auto t = plan_mount(Json{{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=2m,uid=1000"}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->fstype, "tmpfs");
  EXPECT_EQ(t->source, "tmpfs");
  EXPECT_EQ(t->data, "size=2m,uid=1000");
  auto b = plan_mount(Json{{"type", "none"}, {"device", "/srv"}, {"o", "bind,ro"}});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->flags, static_cast<unsigned long>(MS_BIND | MS_RDONLY));
  EXPECT_TRUE(b->fstype.empty());
  // NFS: the call Docker's local driver makes (source ":/export", data addr=…).
  auto n = plan_mount(Json{{"type", "nfs"}, {"device", ":/export"}, {"o", "addr=10.0.0.1,rw,nfsvers=4"}});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->fstype, "nfs");
  EXPECT_EQ(n->source, ":/export");
  EXPECT_EQ(n->data, "addr=10.0.0.1,nfsvers=4");
  EXPECT_EQ(plan_mount(Json{{"foo", "bar"}}).error().msg, "invalid option: \"foo\"");
  EXPECT_FALSE(plan_mount(Json{{"type", "ext4"}}));  // no device
}

}  // namespace
}  // namespace berth::volume
