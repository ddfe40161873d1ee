// Safe extraction of one image layer (a tar stream) into a directory.
//
// libarchive only READS the stream; every filesystem write is done here,
// relative to the destination directory fd, with parents resolved by
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) and leaves created with
// *at() calls that never follow a symlink. So no entry ("../x", "/abs",
// a symlink followed by a file through it, a hard link to /etc/passwd) can
// touch anything outside the destination: ".." that climbs above the root
// is rejected, absolute names are taken relative to the root, symlinks are
// resolved as if the root were "/" (like a chroot), and a hard link must
// name a file already inside the layer.
//
// OCI/AUFS whiteouts become overlayfs ones: ".wh.NAME" → character device
// 0/0 NAME, ".wh..wh..opq" → xattr trusted.overlay.opaque=y on its
// directory (both need root: CAP_MKNOD and CAP_SYS_ADMIN).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/id.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::snapshot {

struct ApplyResult {
  Digest diff_id;      // sha256 of the uncompressed tar stream
  int64_t size = 0;    // bytes of regular files (hard links once) + symlink targets, as Docker counts
  int64_t entries = 0;
};

// Reads a tar archive (plain, gzip, bzip2, xz/lzma or zstd, detected from
// the bytes) from in_fd until EOF and extracts it under dest_dirfd, which
// should be an empty directory. An empty stream is an empty layer (as
// Docker). On error the destination holds a partial tree: the caller
// extracts into a temporary directory and removes it. Errors about the
// archive itself are Errc::invalid.
// `tee`, when given, sees every byte of the uncompressed tar stream (the
// bytes the diff ID covers), e.g. to keep a compressed copy for push.
using Tee = std::function<Status(std::string_view)>;
Result<ApplyResult> apply_tar(int in_fd, int dest_dirfd, const Tee& tee = {});

// rm -rf of `name` inside dirfd without following symlinks or crossing
// mount points.
Status remove_tree_at(int dirfd, const std::string& name);

// Chain ID of a layer stack: for the first layer it is its diff ID, then
// sha256(parent_chain_id + " " + diff_id).
Digest chain_id(const Digest* parent_chain, const Digest& diff_id);

}  // namespace berth::snapshot
