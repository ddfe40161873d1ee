// --storage-opt for container layers: "size=" as an XFS project quota on
// the container's layer directory (dockerd's overlay2 behaviour). The
// backing filesystem must be xfs mounted with pquota/prjquota; elsewhere
// the option is refused with dockerd's message.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::snapshot {

constexpr const char* kStorageOptUnsupported =
    "--storage-opt is supported only for overlay over xfs with 'pquota' mount option";

struct StorageOpts {
  uint64_t size_bytes = 0;  // 0: no limit
};

// docker's units.RAMInBytes: "10", "10k", "1.5g", "20MB", "2GiB" (binary
// multiples, case-insensitive); "invalid size: 'x'" otherwise.
Result<int64_t> ram_in_bytes(const std::string& s);

// Whether `dir` lives on a filesystem enforcing project quotas (xfs
// mounted with pquota; ext4 with prjquota answers the same interface).
bool project_quota_supported(const std::string& dir);

// dockerd's order: "size" on a filesystem without project quotas is the
// pquota error; then every key is parsed ("size" only; anything else is
// "Unknown option KEY").
Result<StorageOpts> parse_storage_opts(const std::map<std::string, std::string>& opts, bool quota_supported);

// Give `dirs` (the layer dir first, then the upper and work dirs inside it)
// a fresh project ID, inherited by everything created below them, and a
// hard block limit of `bytes` for that project. Project IDs come from a
// counter file (flock'd) at `id_file`.
Status set_project_quota(const std::vector<std::string>& dirs, const std::string& id_file, uint64_t bytes);

}  // namespace berth::snapshot
