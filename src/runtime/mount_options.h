// OCI mount options ("ro", "nosuid", "rbind", "rprivate", "mode=755", ...)
// translated to mount(2) flags, propagation changes and fs data.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace berth::runtime {

struct MountOptions {
  unsigned long flags = 0;          // MS_RDONLY, MS_NOSUID, ... (not MS_BIND/MS_REC)
  unsigned long clear = 0;          // flags explicitly cleared ("rw", "suid", ...)
  bool bind = false;                // "bind" or "rbind"
  bool recursive = false;           // "rbind"
  std::vector<unsigned long> propagation;  // MS_PRIVATE|MS_REC, MS_SHARED, ...
  std::string data;                 // comma-joined fs-specific options ("mode=755,size=65536k")
};

Result<MountOptions> parse_mount_options(const std::vector<std::string>& opts);

// Propagation names ("rprivate", "shared", ...) to mount flags; 0 if unknown.
unsigned long propagation_flags(std::string_view name);

}  // namespace berth::runtime
