// `docker diff`: the changes of a container's overlay upper dir against its
// image layers (Kind 0 modified, 1 added, 2 deleted), and the size of the
// upper dir (`ps -s` SizeRw, prune's SpaceReclaimed).
#pragma once

#include <string>
#include <vector>

#include "common/json.h"

namespace berth::container {

// upper: the container's upper dir; lowers: the image layers, lowest first.
// Sorted by path as Docker's.
Json upper_changes(const std::string& upper, const std::vector<std::string>& lowers);
// Bytes used by regular files and links under `dir` (not crossing mounts).
int64_t dir_size(const std::string& dir);

}  // namespace berth::container
