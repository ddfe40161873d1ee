#include "snapshot/overlay_mount.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace berth::snapshot {

namespace {

// The kernel's own words for a failed fsconfig/create ("e overlayfs: …"),
// read from the context fd; empty when it has none.
std::string fs_context_messages(int fsfd) {
  std::string out;
  char buf[512];
  for (int i = 0; i < 16; ++i) {
    ssize_t n = ::read(fsfd, buf, sizeof buf - 1);
    if (n <= 0) break;
    buf[n] = 0;
    std::string m(buf, static_cast<size_t>(n));
    if (m.size() > 2 && m[1] == ' ') m.erase(0, 2);
    if (!out.empty()) out += "; ";
    out += m;
  }
  return out;
}

Status context_error(int fsfd, const std::string& what) {
  const int err = errno;
  std::string msg = what + ": " + std::strerror(err);
  if (auto k = fs_context_messages(fsfd); !k.empty()) msg += " (" + k + ")";
  return make_error(Errc::internal, msg);
}

Status mount_new_api(const OverlaySpec& s, const std::string& target) {
  UniqueFd fsfd(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fsfd) return sys_error("fsopen overlay");
  auto set = [&](const char* key, const std::string& val) -> Status {
    if (::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, key, val.c_str(), 0) != 0)
      return context_error(fsfd.get(), std::string("overlay ") + key + " " + val);
    return ok();
  };
  // "lowerdir+" appends below the layers already given: the top layer first.
  for (auto it = s.lowers_lowest_first.rbegin(); it != s.lowers_lowest_first.rend(); ++it)
    BERTH_TRY_VOID(set("lowerdir+", *it));
  if (!s.upper.empty()) {
    BERTH_TRY_VOID(set("upperdir", s.upper));
    BERTH_TRY_VOID(set("workdir", s.work));
  }
  if (::fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return context_error(fsfd.get(), "create overlay of " + std::to_string(s.lowers_lowest_first.size()) + " layers");
  UniqueFd mfd(::fsmount(fsfd.get(), FSMOUNT_CLOEXEC, 0));
  if (!mfd) return context_error(fsfd.get(), "fsmount overlay");
  if (::move_mount(mfd.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return sys_error("move_mount overlay to " + target);
  return ok();
}

}  // namespace

std::string overlay_mount_options(const OverlaySpec& s) {
  std::string lower;
  for (auto it = s.lowers_lowest_first.rbegin(); it != s.lowers_lowest_first.rend(); ++it) {
    if (!lower.empty()) lower += ':';
    lower += *it;
  }
  std::string o = "lowerdir=" + lower;
  if (!s.upper.empty()) o += ",upperdir=" + s.upper + ",workdir=" + s.work;
  return o;
}

Status mount_overlay(const OverlaySpec& s, const std::string& target, bool force_new_api) {
  if (s.lowers_lowest_first.empty()) return make_error(Errc::invalid, "image has no layers");
  const std::string opts = overlay_mount_options(s);
  if (!force_new_api && opts.size() <= kMaxMountData) {
    if (::mount("overlay", target.c_str(), "overlay", 0, opts.c_str()) != 0)
      return sys_error("mount overlay at " + target);
    return ok();
  }
  return mount_new_api(s, target);
}

}  // namespace berth::snapshot
