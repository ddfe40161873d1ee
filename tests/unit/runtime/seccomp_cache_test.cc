// compile_seccomp_cached: hits, and the cases where a cache file must not
// be believed (corrupted, writable by others, in a directory writable by
// others, a symlink).
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/fs.h"
#include "runtime/security.h"

namespace berth::runtime {
namespace {

uint64_t fnv(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

oci::Seccomp profile() {
  oci::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.architectures = {"SCMP_ARCH_X86_64"};
  oci::SeccompSyscall sc;
  sc.names = {"mkdir"};
  sc.action = "SCMP_ACT_ERRNO";
  sc.errno_ret = 1;
  s.syscalls.push_back(sc);
  return s;
}

bool same(const SeccompProgram& a, const SeccompProgram& b) {
  return a.flags == b.flags && a.filter.size() == b.filter.size() &&
         std::memcmp(a.filter.data(), b.filter.data(), a.filter.size() * sizeof(sock_filter)) == 0;
}

class SeccompCache : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/berth-sc-XXXXXX";
    ASSERT_NE(::mkdtemp(t), nullptr);
    dir_ = t;
    cache_ = dir_ + "/c";
    auto p = compile_seccomp(profile());
    ASSERT_TRUE(p);
    fresh_ = *p;
    auto c = compile_seccomp_cached(profile(), kKey, cache_);  // writes the file
    ASSERT_TRUE(c);
    ASSERT_TRUE(same(*c, fresh_));
    auto names = fs::list_dir(cache_);
    ASSERT_EQ(names.size(), 1u);
    file_ = cache_ + "/" + names[0];
  }
  void TearDown() override { (void)fs::remove_all(dir_); }

  // Rewrites the cached program as a one-instruction allow-all filter with a
  // valid checksum: what a planted file would hold.
  void plant() {
    auto text = fs::read_file(file_);
    ASSERT_TRUE(text);
    std::string body = text->substr(0, text->size() - 8);
    // layout: magic, klen, key, flags, n, program
    uint32_t klen;
    std::memcpy(&klen, body.data() + 4, 4);
    size_t prog_at = 8 + klen + 8;
    sock_filter allow = BPF_STMT(BPF_RET | BPF_K, 0x7fff0000U /* SECCOMP_RET_ALLOW */);
    uint32_t one = 1;
    body.resize(prog_at);
    std::memcpy(body.data() + prog_at - 4, &one, 4);
    body.append(reinterpret_cast<const char*>(&allow), sizeof allow);
    uint64_t sum = fnv(body);
    body.append(reinterpret_cast<const char*>(&sum), 8);
    ASSERT_TRUE(fs::write_file_atomic(file_, body, fs::Durability::none, 0600));
  }
  Result<SeccompProgram> cached() { return compile_seccomp_cached(profile(), kKey, cache_); }

  static constexpr const char* kKey = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"test\":1}";
  std::string dir_, cache_, file_;
  SeccompProgram fresh_;
};

TEST_F(SeccompCache, HitReturnsTheCompiledProgram) {
  auto c = cached();
  ASSERT_TRUE(c);
  EXPECT_TRUE(same(*c, fresh_));
}

TEST_F(SeccompCache, APlantedFileInATrustedPlaceIsUsed) {
  // The control for the tests below: the cache really is read.
  plant();
  auto c = cached();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->filter.size(), 1u);
}

TEST_F(SeccompCache, AFileWritableByOthersIsNotBelieved) {
  plant();
  ASSERT_EQ(::chmod(file_.c_str(), 0606), 0);
  auto c = cached();
  ASSERT_TRUE(c);
  EXPECT_TRUE(same(*c, fresh_));
}

TEST_F(SeccompCache, ADirectoryWritableByOthersIsNotBelieved) {
  plant();
  ASSERT_EQ(::chmod(cache_.c_str(), 0777), 0);
  auto c = cached();
  ASSERT_TRUE(c);
  EXPECT_TRUE(same(*c, fresh_));
}

TEST_F(SeccompCache, ASymlinkIsNotFollowed) {
  plant();
  std::string elsewhere = dir_ + "/planted";
  ASSERT_EQ(::rename(file_.c_str(), elsewhere.c_str()), 0);
  ASSERT_EQ(::symlink(elsewhere.c_str(), file_.c_str()), 0);
  auto c = cached();
  ASSERT_TRUE(c);
  EXPECT_TRUE(same(*c, fresh_));
}

TEST_F(SeccompCache, ACorruptedProgramIsRecompiledAndRewritten) {
  auto text = fs::read_file(file_);
  ASSERT_TRUE(text);
  std::string bad = *text;
  bad[bad.size() - 8 - 3] ^= 0x40;  // inside the last instruction, checksum left as is
  ASSERT_TRUE(fs::write_file_atomic(file_, bad, fs::Durability::none, 0600));
  auto c = cached();
  ASSERT_TRUE(c);
  EXPECT_TRUE(same(*c, fresh_));
  auto again = fs::read_file(file_);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *text);
}

}  // namespace
}  // namespace berth::runtime
