// Root: an overlay of more layers than one mount(2) option page holds is
// mounted through the new mount API's "lowerdir+", in the right order.
#include "snapshot/overlay_mount.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/fs.h"

using namespace berth;

namespace {

class OverlayMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    char t[] = "/tmp/img-ovl-XXXXXX";
    base_ = ::mkdtemp(t);
  }
  void TearDown() override {
    if (base_.empty()) return;
    // every mount a failed test may have stacked there (bounded)
    for (int i = 0; i < 8 && ::umount2((base_ + "/merged").c_str(), MNT_DETACH) == 0; ++i) {
    }
    (void)fs::remove_all(base_);
  }
  // n layers with long names; layer i holds /layer<i> and /who = i.
  snapshot::OverlaySpec layers(int n) {
    snapshot::OverlaySpec s;
    for (int i = 0; i < n; ++i) {
      std::string d = base_ + "/" + std::string(64, 'a' + i % 26) + std::to_string(i) + "/diff";
      EXPECT_TRUE(fs::mkdir_p(d));
      EXPECT_TRUE(fs::write_file_atomic(d + "/layer" + std::to_string(i), std::to_string(i), fs::Durability::none));
      EXPECT_TRUE(fs::write_file_atomic(d + "/who", std::to_string(i), fs::Durability::none));
      s.lowers_lowest_first.push_back(d);
    }
    s.upper = base_ + "/upper";
    s.work = base_ + "/work";
    EXPECT_TRUE(fs::mkdir_p(s.upper));
    EXPECT_TRUE(fs::mkdir_p(s.work));
    EXPECT_TRUE(fs::mkdir_p(base_ + "/merged"));
    return s;
  }
  std::string base_;
};

TEST_F(OverlayMountTest, TwoHundredLayersPastOnePageMountInOrder) {
  auto s = layers(200);
  ASSERT_GT(snapshot::overlay_mount_options(s).size(), snapshot::kMaxMountData);
  // (mount(2) copies one page of options: past it the layer list is cut,
  // and the bottom layers, upperdir and workdir silently go missing.)
  auto st = snapshot::mount_overlay(s, base_ + "/merged");
  ASSERT_TRUE(st) << st.error().msg;
  const std::string m = base_ + "/merged";
  EXPECT_EQ(*fs::read_file(m + "/layer0"), "0");
  EXPECT_EQ(*fs::read_file(m + "/layer199"), "199");
  EXPECT_EQ(*fs::read_file(m + "/who"), "199");  // the top layer wins
  // the upper dir takes writes
  ASSERT_TRUE(fs::write_file_atomic(m + "/new", "x", fs::Durability::none));
  EXPECT_EQ(*fs::read_file(s.upper + "/new"), "x");
}

TEST_F(OverlayMountTest, NewApiOrdersLayersAsTheClassicString) {
  auto s = layers(3);
  ASSERT_TRUE(snapshot::mount_overlay(s, base_ + "/merged", /*force_new_api=*/true));
  EXPECT_EQ(*fs::read_file(base_ + "/merged/who"), "2");
  EXPECT_EQ(*fs::read_file(base_ + "/merged/layer0"), "0");
}

TEST_F(OverlayMountTest, AMissingLayerIsAnErrorNamingIt) {
  auto s = layers(2);
  s.lowers_lowest_first.insert(s.lowers_lowest_first.begin(), base_ + "/nope");
  auto st = snapshot::mount_overlay(s, base_ + "/merged", true);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().msg.find(base_ + "/nope"), std::string::npos) << st.error().msg;
}

}  // namespace
