// GET /system/df: disk usage of images (shared and unique layer bytes),
// containers (writable layers), volumes and the build cache (empty: no
// builder yet), in Docker's shape.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>

#include "container/overlay.h"
#include "daemon/routes.h"

namespace berth::daemon {

namespace {

// Apparent bytes of regular files and symlinks under dirfd/name, each
// inode once, staying on one filesystem; bounded depth.
int64_t du_at(int dirfd, const char* name, dev_t dev, std::set<std::pair<dev_t, ino_t>>& seen, int depth) {
  struct stat st {};
  if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
  if (st.st_dev != dev) return 0;
  if (!S_ISDIR(st.st_mode)) {
    if (st.st_nlink > 1 && !seen.insert({st.st_dev, st.st_ino}).second) return 0;
    return S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) ? st.st_size : 0;
  }
  if (depth > 256) return 0;
  int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return 0;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return 0;
  }
  int64_t total = 0;
  while (auto* e = ::readdir(d)) {
    if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
    total += du_at(::dirfd(d), e->d_name, dev, seen, depth + 1);
  }
  ::closedir(d);
  return total;
}

int64_t du(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  return du_at(AT_FDCWD, path.c_str(), st.st_dev, seen, 0);
}

}  // namespace

void add_df_routes(Router& r, Backends& b) {
  r.add("GET", "/system/df", [&b](Request&, Response& res) -> Status {
    auto images = b.images.list();
    container::ListOptions lo;
    lo.all = true;
    auto containers = BERTH_TRY(b.containers.list(lo));
    std::map<std::string, int> users;  // image id → containers
    for (const auto& c : containers) ++users[c.value("ImageID", std::string())];
    // Layer use counts (by directory) for SharedSize and LayersSize.
    std::map<std::string, int> layer_users;
    std::map<std::string, int64_t> layer_size;
    for (const auto& img : images)
      for (size_t i = 0; i < img.layer_dirs.size(); ++i) {
        ++layer_users[img.layer_dirs[i]];
        layer_size[img.layer_dirs[i]] = i < img.layer_sizes.size() ? img.layer_sizes[i] : 0;
      }
    int64_t layers_total = 0;
    for (const auto& [d, s] : layer_size) layers_total += s;
    Json jimages = Json::array();
    for (const auto& img : images) {
      Json j = b.images.to_list_json(img);
      int64_t shared = 0;
      for (size_t i = 0; i < img.layer_dirs.size(); ++i)
        if (layer_users[img.layer_dirs[i]] > 1) shared += i < img.layer_sizes.size() ? img.layer_sizes[i] : 0;
      j["SharedSize"] = shared;
      j["Containers"] = users[img.id];
      jimages.push_back(std::move(j));
    }
    Json jcont = Json::array();
    std::map<std::string, int> vol_refs;
    for (auto c : containers) {
      std::string id = c.value("Id", std::string());
      int64_t rw = du(container::rootfs_dirs(b.sys.data_root, id).upper);
      int64_t image_size = 0;
      for (const auto& img : images)
        if (img.id == c.value("ImageID", std::string())) image_size = img.size;
      c["SizeRw"] = rw;
      c["SizeRootFs"] = rw + image_size;
      if (c.contains("Mounts") && c["Mounts"].is_array())
        for (const auto& m : c["Mounts"])
          if (m.is_object() && m.value("Type", std::string()) == "volume") ++vol_refs[m.value("Name", std::string())];
      jcont.push_back(std::move(c));
    }
    Json jvols = Json::array();
    if (b.volumes) {
      for (const auto& v : b.volumes->all()) {
        Json j = b.volumes->to_json(v);
        j["UsageData"] = Json{{"Size", du(b.volumes->mountpoint(v.name))}, {"RefCount", vol_refs[v.name]}};
        jvols.push_back(std::move(j));
      }
    }
    return res.json(200, Json{{"LayersSize", layers_total},
                              {"Images", jimages},
                              {"Containers", jcont},
                              {"Volumes", jvols},
                              {"BuildCache", Json::array()}});
  });
}

}  // namespace berth::daemon
