// Path resolution confined to a root directory (openat2 RESOLVE_IN_ROOT):
// symlinks and ".." are interpreted as if `root_fd` were "/", so nothing
// resolves outside it. These functions never allocate; they are used by the
// container init after clone() and report failure as -1 with errno.
#pragma once

#include <sys/types.h>

namespace berth::sys {

// openat2(root_fd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS).
int open_in_root(int root_fd, const char* path, int flags, mode_t mode = 0) noexcept;

// Create every missing directory of `path` (absolute, inside root) and, when
// `leaf_is_dir` is false, an empty file as its last component. Returns an
// O_PATH fd of the final object (caller closes) or -1 with errno.
int create_in_root(int root_fd, const char* path, bool leaf_is_dir, mode_t mode = 0755) noexcept;

// Like create_in_root for the parent directory only: returns an O_PATH fd of
// the (created) parent and points *leaf at the last component inside `path`.
int parent_in_root(int root_fd, const char* path, const char** leaf) noexcept;

}  // namespace berth::sys
