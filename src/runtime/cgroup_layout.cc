#include "runtime/cgroup_layout.h"

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
      V1Hierarchy h;
      h.mount_point = mp;
      for (const auto& o : str::split(post[2], ',')) {
        if (o == "rw" || o == "ro" || o.empty() || str::starts_with(o, "release_agent=") ||
            o == "clone_children" || o == "noprefix" || o == "xattr" ||
            str::starts_with(o, "cpuset_v2_mode"))
          continue;
        h.controllers.push_back(o);
      }
      // The same hierarchy can be mounted twice; keep the first.
      bool dup = false;
      for (const auto& e : out.v1)
        if (e.controllers == h.controllers) dup = true;
      if (!dup && !h.controllers.empty()) out.v1.push_back(std::move(h));
    }
  }
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
  return out;
}

Result<CgroupLayout> detect_host_cgroup_layout() {
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
