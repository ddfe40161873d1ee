#include "container/changes.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>

namespace berth::container {

namespace {

bool exists_in_lowers(const std::vector<std::string>& lowers, const std::string& rel) {
  struct stat st {};
  for (auto it = lowers.rbegin(); it != lowers.rend(); ++it) {
    std::string p = *it + rel;
    if (::lstat(p.c_str(), &st) == 0) {
      // A whiteout in a higher layer hides it.
      if (S_ISCHR(st.st_mode) && st.st_rdev == 0) return false;
      return true;
    }
  }
  return false;
}

void walk(const std::string& upper, const std::string& rel, const std::vector<std::string>& lowers,
          bool parent_added, std::vector<std::pair<std::string, int>>& out, int depth) {
  if (depth > 256) return;
  std::string dir = upper + rel;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) {
    std::string r = rel + "/" + n;
    std::string p = upper + r;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) continue;
    if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
      out.emplace_back(r, 2);  // whiteout: deleted
      continue;
    }
    bool added = parent_added || !exists_in_lowers(lowers, r);
    if (S_ISDIR(st.st_mode)) {
      char v[4] = {};
      bool opaque = ::lgetxattr(p.c_str(), "trusted.overlay.opaque", v, sizeof v) > 0 && v[0] == 'y';
      out.emplace_back(r, added ? 1 : 0);
      walk(upper, r, lowers, added || opaque, out, depth + 1);
      continue;
    }
    out.emplace_back(r, added ? 1 : 0);
  }
}

int64_t size_of(const std::string& dir, dev_t dev, int depth) {
  if (depth > 256) return 0;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  int64_t total = 0;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    std::string p = dir + "/" + n;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || st.st_dev != dev) continue;
    if (S_ISDIR(st.st_mode))
      total += size_of(p, dev, depth + 1);
    else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
      total += st.st_size;
  }
  ::closedir(d);
  return total;
}

}  // namespace

Json upper_changes(const std::string& upper, const std::vector<std::string>& lowers) {
  std::vector<std::pair<std::string, int>> out;
  walk(upper, "", lowers, false, out, 0);
  std::sort(out.begin(), out.end());
  Json j = Json::array();
  for (const auto& [p, k] : out) j.push_back(Json{{"Path", p}, {"Kind", k}});
  return j;
}

int64_t dir_size(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return 0;
  return size_of(dir, st.st_dev, 0);
}

}  // namespace berth::container
