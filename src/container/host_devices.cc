#include "container/host_devices.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstring>

#include "common/fs.h"
#include "common/strings.h"
#include "container/create_config.h"

namespace {
// Go's error text: lower-case first letter.
std::string errno_text(int e) {
  std::string m = std::strerror(e);
  if (!m.empty() && m[0] >= 'A' && m[0] <= 'Z') m[0] = static_cast<char>(m[0] - 'A' + 'a');
  return m;
}
}  // namespace

namespace berth::container {

std::vector<std::string> caps_from_mask(uint64_t mask) {
  // all_capabilities() is in kernel numbering order (CAP_CHOWN = 0, ...).
  std::vector<std::string> out;
  const auto& all = all_capabilities();
  for (size_t i = 0; i < all.size() && i < 64; ++i)
    if (mask & (uint64_t{1} << i)) out.push_back(all[i]);
  return out;
}

std::vector<std::string> host_bounding_caps() {
  auto text = fs::read_file("/proc/self/status");
  if (!text) return all_capabilities();
  for (const auto& line : str::split(*text, '\n')) {
    if (!str::starts_with(line, "CapBnd:")) continue;
    uint64_t mask = std::strtoull(std::string(str::trim(line.substr(7))).c_str(), nullptr, 16);
    return caps_from_mask(mask);
  }
  return all_capabilities();
}

Result<Json> device_from_host(const std::string& host_path, const std::string& container_path,
                              const std::string& access) {
  struct stat st {};
  if (::stat(host_path.c_str(), &st) != 0)
    return make_error(errno == ENOENT ? Errc::invalid : Errc::internal,
                      "error gathering device information while adding custom device \"" + host_path +
                          "\": " + errno_text(errno));
  const char* type = S_ISCHR(st.st_mode) ? "c" : S_ISBLK(st.st_mode) ? "b" : nullptr;
  if (!type)
    return make_error(Errc::invalid, "error gathering device information while adding custom device \"" +
                                         host_path + "\": not a device node");
  return Json{{"path", container_path.empty() ? host_path : container_path},
              {"type", type},
              {"major", static_cast<int64_t>(major(st.st_rdev))},
              {"minor", static_cast<int64_t>(minor(st.st_rdev))},
              {"fileMode", st.st_mode & 07777},
              {"uid", st.st_uid},
              {"gid", st.st_gid},
              {"access", access.empty() ? std::string("rwm") : access}};
}

namespace {
void walk_dev(const std::string& dir, std::vector<Json>& out, int depth) {
  if (depth > 4) return;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string p = dir + "/" + name;
    if (p == "/dev/pts" || p == "/dev/shm" || p == "/dev/mqueue" || p == "/dev/console" ||
        p == "/dev/ptmx")
      continue;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      walk_dev(p, out, depth + 1);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      if (auto j = device_from_host(p, p, "rwm")) out.push_back(*j);
    }
  }
  ::closedir(d);
}
}  // namespace

std::vector<Json> all_host_devices() {
  std::vector<Json> out;
  walk_dev("/dev", out, 0);
  return out;
}

}  // namespace berth::container
