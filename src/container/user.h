// Resolution of Config.User against the container's /etc/passwd and
// /etc/group, as runc/moby do it: "", "uid", "uid:gid", "name", "name:group"
// and mixtures. Pure functions over the files' text, plus a reader that
// opens them inside the rootfs without following links out of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::container {

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;  // groups listing the user, then GroupAdd
  std::string home = "/";
};

// passwd/group: file contents, or nullopt when the file does not exist.
// group_add: HostConfig.GroupAdd entries (names or numbers).
Result<ResolvedUser> resolve_user(std::string_view user, const std::optional<std::string>& passwd,
                                  const std::optional<std::string>& group,
                                  const std::vector<std::string>& group_add = {});

// Reads ROOTFS/etc/passwd and ROOTFS/etc/group with openat2(RESOLVE_IN_ROOT)
// and resolves `user`.
Result<ResolvedUser> resolve_user_in_rootfs(const std::string& rootfs, std::string_view user,
                                            const std::vector<std::string>& group_add = {});

}  // namespace berth::container
