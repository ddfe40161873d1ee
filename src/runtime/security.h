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
};
Result<SeccompProgram> compile_seccomp(const oci::Seccomp& s);

}  // namespace berth::runtime
