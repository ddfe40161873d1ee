#include <gtest/gtest.h>

#include "image/pull.h"

namespace berth::image {
namespace {

TEST(PullFormat, HumanSizeIsDockersDecimalFourDigits) {
  EXPECT_EQ(human_size(0), "0B");
  EXPECT_EQ(human_size(999), "999B");
  EXPECT_EQ(human_size(1234), "1.234kB");
  EXPECT_EQ(human_size(2140160), "2.14MB");
  EXPECT_EQ(human_size(256e6), "256MB");
}

TEST(PullFormat, ProgressBarIsFiftyWideWithArrow) {
  std::string half = progress_bar(500, 1000);
  ASSERT_EQ(half.substr(0, 52), "[" + std::string(25, '=') + ">" + std::string(24, ' ') + "]");
  EXPECT_NE(half.find("500B/1kB"), std::string::npos);
  std::string full = progress_bar(1000, 1000);
  EXPECT_EQ(full.substr(0, 52), "[" + std::string(50, '=') + "]");
}

TEST(PullFormat, ProgressMessagesCarryDetailAndId) {
  Json m = progress_msg("abc", "Downloading", 5, 10);
  EXPECT_EQ(m["status"], "Downloading");
  EXPECT_EQ(m["id"], "abc");
  EXPECT_EQ(m["progressDetail"]["current"], 5);
  EXPECT_EQ(m["progressDetail"]["total"], 10);
  Json e = progress_msg("abc", "Pull complete");
  EXPECT_TRUE(e["progressDetail"].is_object() && e["progressDetail"].empty());
}

TEST(PullFormat, PlatformMatching) {
  Json p = {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}};
  EXPECT_TRUE(platform_matches(p, "linux/arm64"));
  EXPECT_TRUE(platform_matches(p, "linux/arm64/v8"));
  EXPECT_FALSE(platform_matches(p, "linux/arm64/v7"));
  EXPECT_FALSE(platform_matches(p, "linux/amd64"));
  EXPECT_FALSE(platform_matches(Json(), "linux/amd64"));
  EXPECT_EQ(default_platform().rfind("linux/", 0), 0u);
}

TEST(PullFormat, LoopbackRegistriesArePlainHttp) {
  RegistryOptions o;
  EXPECT_TRUE(endpoint_for("127.0.0.1:5000", o).plain_http);
  EXPECT_FALSE(endpoint_for("docker.io", o).plain_http);
  EXPECT_EQ(endpoint_for("docker.io", o).host, "registry-1.docker.io");
}

}  // namespace
}  // namespace berth::image
