#include "runtime/cgroup_layout.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/fs.h"
#include "common/strings.h"

namespace berth::runtime {

namespace {
// mountinfo escapes spaces etc. as \040 octal.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' &&
        s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}
}  // namespace

namespace {
// The controllers (and name=) among a v1 cgroup mount's super options.
std::vector<std::string> v1_controllers(std::string_view opts) {
  std::vector<std::string> out;
  for (const auto& o : str::split(opts, ',')) {
    if (o == "rw" || o == "ro" || o.empty() || str::starts_with(o, "release_agent=") ||
        o == "clone_children" || o == "noprefix" || o == "xattr" || str::starts_with(o, "cpuset_v2_mode"))
      continue;
    out.push_back(o);
  }
  return out;
}

// Adds a v1 hierarchy unless the same one is mounted already (keep the first).
void add_v1(CgroupLayout& out, std::string mount_point, std::string_view opts) {
  V1Hierarchy h;
  h.mount_point = std::move(mount_point);
  h.controllers = v1_controllers(opts);
  for (const auto& e : out.v1)
    if (e.controllers == h.controllers) return;
  if (!h.controllers.empty()) out.v1.push_back(std::move(h));
}

// v1 / hybrid / v2 from what was found; unavailable when nothing was.
Status finish_mode(CgroupLayout& out, bool root_is_v2) {
  if (root_is_v2) {
    out.mode = CgroupMode::v2;
    out.v1.clear();
  } else if (!out.v1.empty()) {
    out.mode = out.unified.empty() ? CgroupMode::v1 : CgroupMode::hybrid;
  } else if (!out.unified.empty()) {
    out.mode = CgroupMode::v2;
  } else {
    return make_error(Errc::unavailable, "no cgroup hierarchy is mounted");
  }
  return ok();
}
}  // namespace

const V1Hierarchy* CgroupLayout::find_v1(std::string_view controller) const {
  for (const auto& h : v1)
    for (const auto& c : h.controllers)
      if (c == controller) return &h;
  return nullptr;
}

Result<CgroupLayout> detect_cgroup_layout(std::string_view mountinfo) {
  CgroupLayout out;
  bool root_is_v2 = false;
  // Only cgroup lines are split into fields: on a busy host mountinfo has
  // a line per container mount (overlays, binds, netns pins), and this runs
  // in every create and delete.
  size_t pos = 0;
  while (pos < mountinfo.size()) {
    size_t eol = mountinfo.find('\n', pos);
    if (eol == std::string_view::npos) eol = mountinfo.size();
    std::string_view line = mountinfo.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty()) continue;
    auto dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    if (line.substr(dash + 3, 7) != "cgroup ") {
      if (line.substr(dash + 3, 8) != "cgroup2 ") continue;
    }
    auto pre = str::split(line.substr(0, dash), ' ');
    auto post = str::split(line.substr(dash + 3), ' ');
    if (pre.size() < 5 || post.size() < 3) continue;
    const std::string& fstype = post[0];
    std::string mp = unescape(pre[4]);
    if (fstype == "cgroup2") {
      if (out.unified.empty() || mp == "/sys/fs/cgroup") out.unified = mp;
      if (mp == "/sys/fs/cgroup") root_is_v2 = true;
    } else if (fstype == "cgroup") {
      add_v1(out, std::move(mp), post[2]);  // the same hierarchy twice: the first is kept
    }
  }
  BERTH_TRY_VOID(finish_mode(out, root_is_v2));
  return out;
}

namespace {
// UAPI of Linux 6.8+ (statmount, listmount) and 6.11+ (STATMOUNT_MNT_OPTS);
// not in this toolchain's headers. x86_64 and the generic table share the
// syscall numbers.
constexpr long kNrStatmount = 457;
constexpr long kNrListmount = 458;
constexpr unsigned kStatxMntIdUnique = 0x4000;
constexpr uint64_t kStatmountMntPoint = 0x10;
constexpr uint64_t kStatmountFsType = 0x20;
constexpr uint64_t kStatmountMntOpts = 0x80;
struct MntIdReq {  // MNT_ID_REQ_SIZE_VER0
  uint32_t size;
  uint32_t spare;
  uint64_t mnt_id;
  uint64_t param;
};
// The fixed head of struct statmount; the strings follow at offset 512
// (the head's size since 6.8: later fields were carved out of its spare).
struct StatmountHead {
  uint32_t size;
  uint32_t mnt_opts;
  uint64_t mask;
  uint32_t sb_dev_major, sb_dev_minor;
  uint64_t sb_magic;
  uint32_t sb_flags;
  uint32_t fs_type;
  uint64_t mnt_id, mnt_parent_id;
  uint32_t mnt_id_old, mnt_parent_id_old;
  uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
  uint32_t mnt_root, mnt_point;
};
static_assert(sizeof(StatmountHead) == 112);
constexpr size_t kStatmountStrings = 512;

struct MountFacts {
  std::string fs_type, mount_point, opts;
  bool has_opts = false;
};

Error unavailable(const char* why) { return make_error(Errc::unavailable, std::string("statmount: ") + why); }

Result<MountFacts> stat_mount(uint64_t id, bool want_opts) {
  alignas(8) char buf[8192];
  MntIdReq req{sizeof(MntIdReq), 0, id, kStatmountFsType | kStatmountMntPoint | (want_opts ? kStatmountMntOpts : 0)};
  if (::syscall(kNrStatmount, &req, buf, sizeof buf, 0) != 0) return unavailable(std::strerror(errno));
  StatmountHead h;
  std::memcpy(&h, buf, sizeof h);
  if (h.size > sizeof buf || h.size < kStatmountStrings) return unavailable("short answer");
  if (!(h.mask & kStatmountFsType) || !(h.mask & kStatmountMntPoint)) return unavailable("no fs type or mount point");
  const size_t room = h.size - kStatmountStrings;
  const char* strs = buf + kStatmountStrings;
  auto str_at = [&](uint32_t off, std::string* out) {
    if (off >= room) return false;
    size_t n = ::strnlen(strs + off, room - off);
    if (off + n >= room) return false;  // not terminated inside the answer
    out->assign(strs + off, n);
    return true;
  };
  MountFacts f;
  if (!str_at(h.fs_type, &f.fs_type) || !str_at(h.mnt_point, &f.mount_point)) return unavailable("bad string offset");
  if (want_opts) {
    // A mount without options leaves the bit clear on some kernels.
    f.has_opts = (h.mask & kStatmountMntOpts) != 0;
    if (f.has_opts && !str_at(h.mnt_opts, &f.opts)) return unavailable("bad options offset");
  }
  return f;
}
}  // namespace

Result<CgroupLayout> detect_cgroup_layout_statmount() {
  constexpr const char* kRoot = "/sys/fs/cgroup";
  struct statx stx {};
  if (::statx(AT_FDCWD, kRoot, AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC, kStatxMntIdUnique, &stx) != 0)
    return unavailable("statx /sys/fs/cgroup");
  if (!(stx.stx_mask & kStatxMntIdUnique)) return unavailable("no unique mount ids");
  if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) || !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
    return unavailable("/sys/fs/cgroup is not a mount");
  MountFacts root = BERTH_TRY(stat_mount(stx.stx_mnt_id, false));
  if (root.mount_point != kRoot) return unavailable("unexpected mount point");
  CgroupLayout out;
  if (root.fs_type == "cgroup2") {
    out.unified = kRoot;
    BERTH_TRY_VOID(finish_mode(out, true));
    return out;
  }
  if (root.fs_type != "tmpfs") return unavailable("/sys/fs/cgroup is neither tmpfs nor cgroup2");
  // The hierarchies: the child mounts of /sys/fs/cgroup, in mount order.
  uint64_t ids[64];
  MntIdReq req{sizeof(MntIdReq), 0, stx.stx_mnt_id, 0};
  long n = ::syscall(kNrListmount, &req, ids, sizeof ids / sizeof ids[0], 0);
  if (n < 0) return unavailable(std::strerror(errno));
  if (static_cast<size_t>(n) == sizeof ids / sizeof ids[0]) return unavailable("too many mounts under /sys/fs/cgroup");
  for (long i = 0; i < n; ++i) {
    MountFacts m = BERTH_TRY(stat_mount(ids[i], true));
    if (!str::starts_with(m.mount_point, std::string(kRoot) + "/")) return unavailable("unexpected mount point");
    if (m.fs_type == "cgroup2") {
      if (out.unified.empty()) out.unified = m.mount_point;
    } else if (m.fs_type == "cgroup") {
      // A v1 hierarchy is known by its controllers: none seen, no answer.
      if (!m.has_opts || v1_controllers(m.opts).empty()) return unavailable("a v1 hierarchy without controllers");
      add_v1(out, std::move(m.mount_point), m.opts);
    }
  }
  if (!finish_mode(out, false)) return unavailable("no cgroup hierarchy under /sys/fs/cgroup");
  return out;
}

Result<CgroupLayout> detect_host_cgroup_layout() {
  if (auto l = detect_cgroup_layout_statmount()) return l;
  auto text = BERTH_TRY(fs::read_file("/proc/self/mountinfo"));
  return detect_cgroup_layout(text);
}

Result<std::string> resolve_cgroups_path(const std::string* p, const std::string& id) {
  std::string path = (p && !p->empty()) ? *p : "/berth/" + id;
  if (path.find(':') != std::string::npos && path[0] != '/')
    return make_error(Errc::invalid,
                      "linux.cgroupsPath: systemd slice:prefix:name paths need --systemd-cgroup, "
                      "which is not supported");
  std::string out;
  for (const auto& part : str::split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return make_error(Errc::invalid, "linux.cgroupsPath: must not contain \"..\"");
    out += "/" + part;
  }
  if (out.empty()) return make_error(Errc::invalid, "linux.cgroupsPath: must not be the root cgroup");
  return out;
}

}  // namespace berth::runtime
