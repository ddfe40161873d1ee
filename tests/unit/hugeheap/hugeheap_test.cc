#include "hugeheap/hugeheap.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace berth::hugeheap {
namespace {

// The VmFlags line of the mapping that holds `p` in /proc/self/smaps.
std::string vm_flags_of(const void* p) {
  std::ifstream in("/proc/self/smaps");
  std::string line;
  bool inside = false;
  auto a = reinterpret_cast<uintptr_t>(p);
  while (std::getline(in, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= a && a < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

TEST(HugeHeap, AFreedBlockIsReusedForTheSameSize) {
  HugeHeap h;
  void* a = h.allocate(100);
  ASSERT_NE(a, nullptr);
  h.release(a);
  EXPECT_EQ(h.allocate(100), a);
  EXPECT_NE(h.allocate(100), a);  // a is taken again
}

TEST(HugeHeap, BlocksAreDistinctAlignedAndHoldTheirSize) {
  HugeHeap h;
  std::set<uintptr_t> seen;
  std::vector<std::pair<unsigned char*, size_t>> blocks;
  for (size_t n : {0ul, 1ul, 15ul, 16ul, 17ul, 100ul, 4096ul, 70000ul, 3ul << 20}) {
    auto* p = static_cast<unsigned char*>(h.allocate(n));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u) << n;
    EXPECT_GE(HugeHeap::usable_size(p), n);
    EXPECT_TRUE(seen.insert(reinterpret_cast<uintptr_t>(p)).second);
    std::memset(p, static_cast<int>(n & 0xff), n);
    blocks.emplace_back(p, n);
  }
  for (auto& [p, n] : blocks)  // no block overlaps another
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(p[i], static_cast<unsigned char>(n & 0xff)) << n;
  for (auto& [p, n] : blocks) h.release(p);
}

TEST(HugeHeap, AlignedBlocksAreAlignedAndFreeable) {
  HugeHeap h;
  for (size_t align : {32ul, 64ul, 4096ul, 1ul << 21}) {
    void* p = h.allocate_aligned(align, 10);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u) << align;
    EXPECT_GE(HugeHeap::usable_size(p), 10u);
    std::memset(p, 1, 10);
    h.release(p);
  }
  // The block under a freed aligned pointer goes back on its free list.
  void* p = h.allocate_aligned(64, 10);
  h.release(p);
  EXPECT_NE(h.allocate_aligned(64, 10), nullptr);
}

TEST(HugeHeap, ReallocateKeepsTheContents) {
  HugeHeap h;
  auto* p = static_cast<char*>(h.allocate(10));
  std::memcpy(p, "0123456789", 10);
  EXPECT_EQ(h.reallocate(p, 12), p);  // fits in the block
  auto* q = static_cast<char*>(h.reallocate(p, 100000));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(std::string(q, 10), "0123456789");
  auto* r = static_cast<char*>(h.reallocate(nullptr, 5));
  EXPECT_NE(r, nullptr);
}

TEST(HugeHeap, ReservesAnotherRegionWhenOneIsUsedUp) {
  HugeHeap h(size_t{1} << 20);  // 1 MiB regions
  std::vector<void*> v;
  for (int i = 0; i < 100; ++i) {  // 100 × 64 KiB blocks: several regions
    void* p = h.allocate(60000);
    ASSERT_NE(p, nullptr);
    std::memset(p, 7, 60000);
    v.push_back(p);
  }
  EXPECT_GE(h.reserved(), size_t{6} << 20);
  for (void* p : v) h.release(p);
}

TEST(HugeHeap, ItsMemoryIsAdvisedForHugePages) {
  HugeHeap h;
  void* p = h.allocate(64);
  ASSERT_NE(p, nullptr);
  std::string flags = vm_flags_of(p);
  ASSERT_FALSE(flags.empty());
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  std::getline(thp, mode);
  if (mode.empty()) GTEST_SKIP() << "kernel without transparent huge pages";
  EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;
}

TEST(HugeHeap, ImpossibleSizesFail) {
  HugeHeap h;
  EXPECT_EQ(h.allocate(~size_t{0}), nullptr);
  EXPECT_EQ(h.allocate_aligned(64, ~size_t{0} - 8), nullptr);
}

TEST(HugeHeapDeathTest, FreeingAPointerTwiceTraps) {
  HugeHeap h;
  void* p = h.allocate(32);
  h.release(p);
  EXPECT_DEATH(h.release(p), "");
}

}  // namespace
}  // namespace berth::hugeheap
