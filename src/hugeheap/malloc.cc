// malloc and friends for the binaries that link berth_hugeheap_malloc (the
// berth CLI and berth-runtime; see hugeheap.h for why). glibc supports
// replacing its allocator this way in a static link: its own internal
// allocations go through these names too. A process has one allocator, so
// the heap is the one piece of process-wide state here (constant-initialized:
// usable before any constructor runs), behind one mutex.
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include <cstring>

#include "hugeheap/hugeheap.h"

namespace {
constinit berth::hugeheap::HugeHeap g_heap;
pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

struct Lock {
  Lock() { pthread_mutex_lock(&g_mu); }
  ~Lock() { pthread_mutex_unlock(&g_mu); }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;
};

void* checked(void* p) {
  if (!p) errno = ENOMEM;
  return p;
}
}  // namespace

extern "C" {

void* malloc(size_t n) {
  Lock l;
  return checked(g_heap.allocate(n));
}

void free(void* p) {
  if (!p) return;
  Lock l;
  g_heap.release(p);
}

void* calloc(size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  void* p;
  {
    Lock l;
    p = checked(g_heap.allocate(total));
  }
  if (p) std::memset(p, 0, total);  // a reused block is not zero
  return p;
}

void* realloc(void* p, size_t n) {
  if (p && n == 0) {  // glibc frees and returns NULL
    free(p);
    return nullptr;
  }
  Lock l;
  return checked(g_heap.reallocate(p, n));
}

void* reallocarray(void* p, size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, total);
}

void* memalign(size_t align, size_t n) {
  if (align == 0 || (align & (align - 1)) != 0) {
    errno = EINVAL;
    return nullptr;
  }
  Lock l;
  return checked(g_heap.allocate_aligned(align, n));
}

void* aligned_alloc(size_t align, size_t n) { return memalign(align, n); }

int posix_memalign(void** out, size_t align, size_t n) {
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return EINVAL;
  void* p;
  {
    Lock l;
    p = g_heap.allocate_aligned(align, n);
  }
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

void* valloc(size_t n) { return memalign(static_cast<size_t>(sysconf(_SC_PAGESIZE)), n); }

void* pvalloc(size_t n) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return memalign(page, (n + page - 1) & ~(page - 1));
}

size_t malloc_usable_size(void* p) { return berth::hugeheap::HugeHeap::usable_size(p); }

}  // extern "C"
