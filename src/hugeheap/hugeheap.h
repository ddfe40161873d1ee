#pragma once
// A memory allocator for berth's short-lived static binaries (the berth CLI
// and berth-runtime), backed by transparent huge pages.
//
// Why: on the VMs berth is measured on (a PVM guest: the hypervisor keeps
// shadow page tables), the first touch of every 4 KiB anonymous page costs
// 15-35 µs, and populating pages in advance (MADV_POPULATE_WRITE) does not
// help: the touch after it costs the same. A 2 MiB transparent huge page is
// mapped by one fault. Touching 4 MB of malloc'd memory took 115 ms with
// glibc's heap and 10 ms from a huge-page region (/tmp/fx/bump.c, load 9).
// `berth ps` with 1,000 containers faults ~1,000 pages; berth-runtime's
// `run` ~150.
//
// HugeHeap hands out blocks from 1 GiB virtual reservations (MAP_NORESERVE:
// only touched memory is charged), 2 MiB aligned and madvise(MADV_HUGEPAGE)d,
// so that the kernel backs them with huge pages when it has them and with
// 4 KiB pages when it does not (THP "never", no free huge page): correct
// either way. Blocks are power-of-two sized (a 16-byte header, then the
// payload); freed blocks go on a free list per size and are reused. Memory
// is never returned to the kernel: the processes that use it live for
// milliseconds to seconds. Not for berthd or berth-shim (long-lived; the
// shim's resident size is a budget).
//
// Thread safety: one mutex. fork() from a single-threaded process (the
// runtime's init, hooks) is safe; the binaries that use it do not fork from
// a second thread.
#include <cstddef>
#include <cstdint>

namespace berth::hugeheap {

class HugeHeap {
 public:
  // region_bytes: the size of each virtual reservation (tests use small ones).
  explicit constexpr HugeHeap(size_t region_bytes = size_t{1} << 30) : region_bytes_(region_bytes) {}

  void* allocate(size_t n);
  // align: a power of two; any size.
  void* allocate_aligned(size_t align, size_t n);
  void release(void* p);
  void* reallocate(void* p, size_t n);
  // The usable size of a block from allocate (0 for nullptr).
  static size_t usable_size(const void* p);

  // Bytes reserved from the kernel so far (virtual), for tests.
  size_t reserved() const { return reserved_; }

 private:
  static constexpr int kShifts = 64;
  void* carve(int shift);
  bool refill(size_t need);

  size_t region_bytes_;
  char* cur_ = nullptr;
  char* end_ = nullptr;
  size_t reserved_ = 0;
  void* free_[kShifts] = {};
};

}  // namespace berth::hugeheap
