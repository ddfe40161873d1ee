#include "runtime/mount_options.h"

#include <sys/mount.h>

#include <string_view>

namespace berth::runtime {

namespace {
struct FlagOpt {
  const char* name;
  bool clear;
  unsigned long flag;
};
constexpr FlagOpt kFlags[] = {
    {"ro", false, MS_RDONLY},          {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},      {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},        {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},      {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},   {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},      {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},       {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME}, {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},  {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME}, {"nostrictatime", true, MS_STRICTATIME},
    {"silent", false, MS_SILENT},      {"loud", true, MS_SILENT},
};
}  // namespace

unsigned long propagation_flags(std::string_view n) {
  if (n == "private") return MS_PRIVATE;
  if (n == "rprivate") return MS_PRIVATE | MS_REC;
  if (n == "shared") return MS_SHARED;
  if (n == "rshared") return MS_SHARED | MS_REC;
  if (n == "slave") return MS_SLAVE;
  if (n == "rslave") return MS_SLAVE | MS_REC;
  if (n == "unbindable") return MS_UNBINDABLE;
  if (n == "runbindable") return MS_UNBINDABLE | MS_REC;
  return 0;
}

Result<MountOptions> parse_mount_options(const std::vector<std::string>& opts) {
  MountOptions out;
  for (const auto& o : opts) {
    if (o.empty()) continue;
    if (o == "bind") {
      out.bind = true;
      continue;
    }
    if (o == "rbind") {
      out.bind = out.recursive = true;
      continue;
    }
    if (auto p = propagation_flags(o)) {
      out.propagation.push_back(p);
      continue;
    }
    bool matched = false;
    for (const auto& f : kFlags) {
      if (o == f.name) {
        if (f.clear) {
          out.flags &= ~f.flag;
          out.clear |= f.flag;
        } else {
          out.flags |= f.flag;
          out.clear &= ~f.flag;
        }
        matched = true;
        break;
      }
    }
    if (matched) continue;
    // Recursive attribute variants (rro, rnosuid...) and idmap need mount_setattr.
    if (o == "rro" || o == "rrw" || o == "rnosuid" || o == "rnodev" || o == "rnoexec" ||
        o == "idmap" || o == "ridmap")
      return make_error(Errc::invalid, "mount option \"" + o + "\" is not supported");
    if (o.find('=') == std::string::npos && o != "newinstance" && o != "nosymfollow" &&
        o != "lazytime" && o != "noacl" && o != "acl" && o != "nouser_xattr" &&
        o != "user_xattr")
      return make_error(Errc::invalid, "unknown mount option \"" + o + "\"");
    if (!out.data.empty()) out.data += ',';
    out.data += o;
  }
  return out;
}

}  // namespace berth::runtime
