#include "hugeheap/hugeheap.h"

#include <sys/mman.h>

#include <cstring>

namespace berth::hugeheap {

namespace {

constexpr size_t kHuge = size_t{2} << 20;
constexpr size_t kHeader = 16;
constexpr int kMinShift = 5;  // 32 bytes: the header and 16 bytes of payload
constexpr uint64_t kMagic = 0x6265727468686561ULL;  // "berthhea"
constexpr uint64_t kAlignedMagic = 0x6265727468616c69ULL;  // "berthali"

// Every block starts with this; the payload follows at +16 (16-aligned).
struct Header {
  uint64_t magic;  // kMagic, or kAlignedMagic for a pointer from allocate_aligned
  uint64_t value;  // the block's size shift, or (aligned) the offset back to the block
};
static_assert(sizeof(Header) == kHeader);

int shift_for(size_t total) {
  int s = kMinShift;
  while (s < 63 && (size_t{1} << s) < total) ++s;
  return s;
}

Header* header_of(const void* p) {
  return reinterpret_cast<Header*>(static_cast<char*>(const_cast<void*>(p)) - kHeader);
}

}  // namespace

bool HugeHeap::refill(size_t need) {
  size_t len = region_bytes_;
  if (len < need + kHuge) len = need + kHuge;
  void* m = ::mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
  if (m == MAP_FAILED) return false;
  uintptr_t a = (reinterpret_cast<uintptr_t>(m) + kHuge - 1) & ~(kHuge - 1);
  // Huge pages where the kernel has them; refused (THP off) is not an error.
  (void)::madvise(reinterpret_cast<void*>(a), len, MADV_HUGEPAGE);
  cur_ = reinterpret_cast<char*>(a);
  end_ = cur_ + len;
  reserved_ += len + kHuge;
  return true;
}

void* HugeHeap::carve(int shift) {
  size_t size = size_t{1} << shift;
  if (static_cast<size_t>(end_ - cur_) < size && !refill(size)) return nullptr;
  char* b = cur_;
  cur_ += size;
  return b;
}

void* HugeHeap::allocate(size_t n) {
  if (n > (size_t{1} << 62)) return nullptr;
  int shift = shift_for(n + kHeader);
  char* b;
  if (free_[shift]) {
    b = static_cast<char*>(free_[shift]);
    std::memcpy(&free_[shift], b + kHeader, sizeof(void*));
  } else {
    b = static_cast<char*>(carve(shift));
    if (!b) return nullptr;
  }
  auto* h = reinterpret_cast<Header*>(b);
  h->magic = kMagic;
  h->value = static_cast<uint64_t>(shift);
  return b + kHeader;
}

void* HugeHeap::allocate_aligned(size_t align, size_t n) {
  if (align <= kHeader) return allocate(n);
  if (n > (size_t{1} << 61) || align > (size_t{1} << 40)) return nullptr;
  // Room for the alignment and a second header right before the result.
  char* raw = static_cast<char*>(allocate(n + align + kHeader));
  if (!raw) return nullptr;
  uintptr_t p = (reinterpret_cast<uintptr_t>(raw) + kHeader + align - 1) & ~(align - 1);
  auto* h = header_of(reinterpret_cast<void*>(p));
  h->magic = kAlignedMagic;
  h->value = p - reinterpret_cast<uintptr_t>(raw);
  return reinterpret_cast<void*>(p);
}

void HugeHeap::release(void* p) {
  if (!p) return;
  Header* h = header_of(p);
  if (h->magic == kAlignedMagic) {
    p = static_cast<char*>(p) - h->value;
    h = header_of(p);
  }
  if (h->magic != kMagic || h->value >= kShifts) __builtin_trap();  // not ours: fail loudly
  int shift = static_cast<int>(h->value);
  h->magic = 0;  // a second free of the same pointer traps
  char* b = reinterpret_cast<char*>(h);
  std::memcpy(b + kHeader, &free_[shift], sizeof(void*));
  free_[shift] = b;
}

size_t HugeHeap::usable_size(const void* p) {
  if (!p) return 0;
  const Header* h = header_of(p);
  if (h->magic == kAlignedMagic) {
    const Header* base = header_of(static_cast<const char*>(p) - h->value);
    return (size_t{1} << base->value) - kHeader - h->value;
  }
  return (size_t{1} << h->value) - kHeader;
}

void* HugeHeap::reallocate(void* p, size_t n) {
  if (!p) return allocate(n);
  size_t have = usable_size(p);
  if (n <= have && header_of(p)->magic == kMagic) return p;
  void* q = allocate(n);
  if (!q) return nullptr;
  std::memcpy(q, p, have < n ? have : n);
  release(p);
  return q;
}

}  // namespace berth::hugeheap
