// Capabilities and seccomp, compiled in the runtime process before clone()
// into plain data (bit masks, a BPF program) the container init applies
// without allocating.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "oci/spec.h"

namespace berth::runtime {

struct CapSets {
  uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
};

// Capability name ("CAP_NET_ADMIN") to number; error for unknown names.
Result<int> capability_from_name(const std::string& name);
// Resolve names to masks; capabilities the kernel or the runtime's own
// bounding set lacks are dropped silently (they cannot be granted).
Result<CapSets> resolve_capabilities(const oci::Capabilities& caps);

struct SeccompProgram {
  std::vector<sock_filter> filter;
  unsigned int flags = 0;  // SECCOMP_FILTER_FLAG_*
  // SCMP_ACT_NOTIFY rules: loaded with SECCOMP_FILTER_FLAG_NEW_LISTENER; the
  // listener fd is handed to linux.seccomp.listenerPath.
  bool notify() const;
};
Result<SeccompProgram> compile_seccomp(const oci::Seccomp& s);

// compile_seccomp() behind a cache of compiled programs in `cache_dir`
// (e.g. ROOT/.seccomp): files named by a hash of `key` (the profile's JSON
// text) that also hold the whole key, so a hash collision is a miss, never a
// wrong filter. Repeat runs of the same profile skip libseccomp entirely.
// Cache write failures are ignored (the compiled program is still used).
// A cache file is used only when it and its directory are owned by the
// caller's euid and writable by nobody else, it is a regular file (not a
// link) and its trailing checksum matches: a torn, corrupted or planted file
// is a miss and the profile is compiled again.
Result<SeccompProgram> compile_seccomp_cached(const oci::Seccomp& s, const std::string& key,
                                              const std::string& cache_dir);

}  // namespace berth::runtime
