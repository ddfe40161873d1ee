#include "snapshot/quota.h"

#include <gtest/gtest.h>

using namespace berth;
using namespace berth::snapshot;

TEST(RamInBytes, DockerUnits) {
  EXPECT_EQ(*ram_in_bytes("10"), 10);
  EXPECT_EQ(*ram_in_bytes("10k"), 10 * 1024);
  EXPECT_EQ(*ram_in_bytes("20m"), 20 * 1024 * 1024);
  EXPECT_EQ(*ram_in_bytes("20MB"), 20 * 1024 * 1024);
  EXPECT_EQ(*ram_in_bytes("2GiB"), 2LL * 1024 * 1024 * 1024);
  EXPECT_EQ(*ram_in_bytes("1.5g"), 3LL * 512 * 1024 * 1024);
  EXPECT_EQ(*ram_in_bytes("3 kb"), 3 * 1024);
  for (const char* bad : {"", "abc", "10x", "-1", "1..2m", ".5m", "10mbb"}) {
    auto r = ram_in_bytes(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().msg, std::string("invalid size: '") + bad + "'");
  }
}

TEST(StorageOpts, DockerdOrderOfErrors) {
  // size where project quotas are missing: dockerd's pquota message, even
  // when the value or another key is bad
  for (const auto& opts : std::vector<std::map<std::string, std::string>>{
           {{"size", "10m"}}, {{"size", "abc"}}, {{"SIZE", "1g"}}, {{"size", "1m"}, {"foo", "1"}}}) {
    auto r = parse_storage_opts(opts, false);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, kStorageOptUnsupported);
    EXPECT_EQ(r.error().msg, "--storage-opt is supported only for overlay over xfs with 'pquota' mount option");
  }
  auto u = parse_storage_opts({{"Foo", "1"}}, false);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().msg, "Unknown option foo");
  auto bad = parse_storage_opts({{"size", "abc"}}, true);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().msg, "invalid size: 'abc'");
  auto good = parse_storage_opts({{"size", "20m"}}, true);
  ASSERT_TRUE(good);
  EXPECT_EQ(good->size_bytes, 20u * 1024 * 1024);
  EXPECT_EQ(parse_storage_opts({}, false)->size_bytes, 0u);
}

TEST(StorageOpts, NoProjectQuotaOnTmp) {
  // /tmp here is ext4 without prjquota (or tmpfs): not supported.
  EXPECT_FALSE(project_quota_supported("/tmp"));
  EXPECT_FALSE(project_quota_supported("/nonexistent-dir"));
}
