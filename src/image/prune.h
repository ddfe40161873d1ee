// docker image prune: remove unused images (dangling only, or every image
// no container uses with -a) matching until/label/label! filters, answered
// in Docker's shape {"ImagesDeleted":[{"Untagged"|"Deleted":…}],
// "SpaceReclaimed":N} where N sums the unpacked sizes of the layers that
// went (as dockerd counts it).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "image/image_store.h"

namespace berth::image {

struct PruneOptions {
  bool dangling_only = true;      // filters dangling=true (default) / false (-a)
  int64_t until_unix_nano = 0;    // 0: no until filter; else only images created before
  std::vector<std::pair<std::string, bool>> labels;  // "k" or "k=v"; true = label! (must NOT match)
  std::set<std::string> in_use;   // image IDs some container uses (never pruned)
};

// Parse the decoded filters (key → values) of POST /images/prune into
// options (without until, which the caller converts, and in_use). Unknown
// keys → "invalid filter 'k'"; a bad dangling value → Docker's
// "Invalid filter 'dangling=[v]'".
Status parse_prune_filters(const std::vector<std::pair<std::string, std::vector<std::string>>>& filters,
                           PruneOptions& out);

Result<Json> prune(ImageStore& store, const PruneOptions& opts);

}  // namespace berth::image
