// apply_tar's options for archives that are not image layers (docker
// cp's PUT /containers/{id}/archive): the same safe extraction (see
// layer_apply.h), with Docker's untar options.
#pragma once

#include <cstdint>
#include <string>

#include "snapshot/layer_apply.h"

namespace berth::snapshot {

// The same safe extraction for archives that are not layers (docker cp's
// PUT /containers/{id}/archive).
struct ExtractOptions {
  bool whiteouts = true;                  // false: ".wh.NAME" is an ordinary name
  bool no_overwrite_dir_non_dir = false;  // Errc::conflict instead of replacing a dir by a non-dir or back
  bool chown = false;                     // every entry owned by uid:gid instead of the archive's owner
  uint32_t uid = 0, gid = 0;
  std::string display_root = "/";         // how the destination is named in error messages
  // Refuse a non-empty uncompressed stream that ends right after an entry,
  // without the end-of-archive zero block (a tar cut at a block boundary:
  // libarchive, like Go's reader, takes that for a clean end). Input with no
  // digest to check it against (import) sets it.
  bool require_end_marker = false;
};
Result<ApplyResult> apply_tar(int in_fd, int dest_dirfd, const Tee& tee, const ExtractOptions& opts);

}  // namespace berth::snapshot
