#include "container/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include "common/time.h"
#include "snapshot/extract.h"

namespace berth::container {

namespace {

constexpr uint64_t kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

int openat2_in_root(int dirfd, const std::string& rel, uint64_t flags) {
  struct open_how how {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = kResolve;
  for (;;) {
    long r = ::syscall(SYS_openat2, dirfd, rel.empty() ? "." : rel.c_str(), &how, sizeof how);
    if (r >= 0) return static_cast<int>(r);
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
}

std::vector<std::string> split_slash(std::string_view p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    out.emplace_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::vector<std::string> comps_of(std::string_view p) {
  std::vector<std::string> out;
  for (auto& c : split_slash(p)) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string join_abs(const std::vector<std::string>& c) {
  std::string out;
  for (const auto& s : c) out += "/" + s;
  return out.empty() ? "/" : out;
}

std::string clean_abs(std::string_view p) { return join_abs(comps_of(p)); }

bool under(const std::string& abs, const std::string& dest) {
  if (dest == "/") return true;
  return abs == dest || (abs.size() > dest.size() && abs.compare(0, dest.size(), dest) == 0 && abs[dest.size()] == '/');
}

// The parent of rel (resolved in root) as an O_PATH fd, and the leaf.
struct Parent {
  UniqueFd fd;
  std::string leaf;  // empty: rel is the root itself
};
Result<Parent> open_parent(int rootfd, const std::string& rel) {
  Parent p;
  auto slash = rel.rfind('/');
  std::string dir = slash == std::string::npos ? "." : rel.substr(0, slash);
  p.leaf = slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (rel.empty() || rel == ".") {
    p.leaf.clear();
    dir = ".";
  }
  p.fd.reset(openat2_in_root(rootfd, dir, O_PATH | O_DIRECTORY));
  if (!p.fd) return sys_error("open " + dir);
  return p;
}

Result<struct stat> lstat_in(const CopyRoot& root, const std::string& abs, UniqueFd* parent, std::string* leaf) {
  auto [fd, rel] = root.locate(abs);
  auto p = open_parent(fd, rel);
  if (!p) return std::move(p).error();
  struct stat st {};
  int r = p->leaf.empty() ? ::fstat(p->fd.get(), &st) : ::fstatat(p->fd.get(), p->leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW);
  if (r != 0) return sys_error("lstat " + abs);
  if (parent) *parent = std::move(p->fd);
  if (leaf) *leaf = p->leaf;
  return st;
}

struct WriteFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

struct TarWriter {
  std::unique_ptr<struct archive, WriteFree> a{archive_write_new()};
  const Sink* sink = nullptr;
  Status sink_status;
  std::map<std::pair<dev_t, ino_t>, std::string> links;
  std::vector<char> buf = std::vector<char>(1 << 20);

  static la_ssize_t write_cb(struct archive*, void* ctx, const void* b, size_t n) {
    auto* w = static_cast<TarWriter*>(ctx);
    auto st = (*w->sink)(std::string_view(static_cast<const char*>(b), n));
    if (!st) {
      w->sink_status = std::move(st);
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }
  Status open(const Sink& s) {
    sink = &s;
    archive_write_set_format_pax_restricted(a.get());
    archive_write_set_bytes_in_last_block(a.get(), 1);
    if (archive_write_open(a.get(), this, nullptr, write_cb, nullptr) != ARCHIVE_OK) return err();
    return ok();
  }
  Error err() {
    if (!sink_status) return sink_status.error();
    const char* m = archive_error_string(a.get());
    return make_error(Errc::internal, std::string("tar: ") + (m ? m : "write failed"));
  }
  Status close() {
    if (archive_write_close(a.get()) != ARCHIVE_OK) return err();
    return ok();
  }
};

class TreeTar {
 public:
  explicit TreeTar(TarWriter& w) : w_(w) {}
  // One entry (recursing into directories): `pfd`/`leaf` name it (leaf
  // empty: pfd itself), `abs` is its container path, `name` its tar name.
  Status add(int pfd, const std::string& leaf, const std::string& abs, const std::string& name, bool emit_self);

 private:
  TarWriter& w_;
};

Status TreeTar::add(int pfd, const std::string& leaf, const std::string& abs, const std::string& name,
                    bool emit_self) {
  struct stat st {};
  int r = leaf.empty() ? ::fstat(pfd, &st) : ::fstatat(pfd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW);
  if (r != 0) {
    if (errno == ENOENT) return ok();  // went away while walking
    return sys_error("lstat " + abs);
  }
  if (S_ISSOCK(st.st_mode)) return ok();
  UniqueFd self;
  if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
    int flags = (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0) | O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
    self.reset(leaf.empty() ? ::openat(pfd, ".", flags) : ::openat(pfd, leaf.c_str(), flags | O_NONBLOCK));
    if (!self) {
      if (errno == ENOENT) return ok();
      return sys_error("open " + abs);
    }
  }
  if (emit_self) {
    std::unique_ptr<struct archive_entry, EntryFree> e(archive_entry_new());
    std::string tar_name = name;
    if (S_ISDIR(st.st_mode) && !tar_name.empty() && tar_name.back() != '/') tar_name += '/';
    archive_entry_set_pathname(e.get(), tar_name.c_str());
    archive_entry_copy_stat(e.get(), &st);
    bool hardlink = false;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto key = std::make_pair(st.st_dev, st.st_ino);
      auto it = w_.links.find(key);
      if (it != w_.links.end()) {
        archive_entry_set_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        hardlink = true;
      } else {
        w_.links.emplace(key, tar_name);
      }
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(4096, '\0');
      ssize_t n = ::readlinkat(pfd, leaf.c_str(), target.data(), target.size());
      if (n < 0) return sys_error("readlink " + abs);
      target.resize(static_cast<size_t>(n));
      archive_entry_set_symlink(e.get(), target.c_str());
    }
    if (!S_ISREG(st.st_mode)) archive_entry_set_size(e.get(), 0);
    if (archive_write_header(w_.a.get(), e.get()) != ARCHIVE_OK) return w_.err();
    if (S_ISREG(st.st_mode) && !hardlink) {
      int64_t left = st.st_size;
      while (left > 0) {
        ssize_t n = ::read(self.get(), w_.buf.data(), std::min<size_t>(w_.buf.size(), static_cast<size_t>(left)));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("read " + abs);
        if (n == 0) break;  // shrank while reading: libarchive pads the entry
        if (archive_write_data(w_.a.get(), w_.buf.data(), static_cast<size_t>(n)) < 0) return w_.err();
        left -= n;
      }
    }
  }
  if (!S_ISDIR(st.st_mode)) return ok();
  DIR* d = ::fdopendir(::dup(self.get()));
  if (!d) return sys_error("opendir " + abs);
  std::vector<std::string> names;
  while (auto* ent = ::readdir(d))
    if (std::strcmp(ent->d_name, ".") && std::strcmp(ent->d_name, "..")) names.emplace_back(ent->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::string child_abs = abs == "/" ? "/" + n : abs + "/" + n;
    std::string child_name;
    if (name.empty() || name == "/") child_name = name + n;
    else child_name = (name.back() == '/' ? name : name + "/") + n;
    BERTH_TRY_VOID(add(self.get(), n, child_abs, child_name, true));
  }
  return ok();
}

}  // namespace

const CopyMount* CopyRoot::mount_of(const std::string& abs) const {
  const CopyMount* best = nullptr;
  for (const auto& m : mounts_)
    if (under(abs, m.destination) && (!best || m.destination.size() > best->destination.size())) best = &m;
  return best;
}

std::pair<int, std::string> CopyRoot::locate(const std::string& abs) const {
  std::string rel = abs.size() > 1 ? abs.substr(1) : ".";
  return {root_.get(), rel};
}

Result<std::string> CopyRoot::resolve(std::string_view abs) const {
  std::vector<std::string> todo;  // reversed: back() is next
  for (auto& c : comps_of(abs)) todo.push_back(std::move(c));
  std::reverse(todo.begin(), todo.end());
  std::vector<std::string> done;
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.back());
    todo.pop_back();
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    done.push_back(c);
    std::string cur = join_abs(done);
    auto [fd, rel] = locate(cur);
    auto p = open_parent(fd, rel);
    if (!p) {
      // A missing or non-directory parent: the rest stays lexical.
      for (auto it = todo.rbegin(); it != todo.rend(); ++it) done.push_back(*it);
      return clean_abs(join_abs(done));
    }
    if (p->leaf.empty()) continue;
    std::string target(4096, '\0');
    ssize_t n = ::readlinkat(p->fd.get(), p->leaf.c_str(), target.data(), target.size());
    if (n < 0) continue;  // not a link (or missing): keep it
    if (++links > 255) return make_error(Errc::invalid, "too many links in " + std::string(abs));
    target.resize(static_cast<size_t>(n));
    done.pop_back();
    if (!target.empty() && target[0] == '/') done.clear();
    // ".." inside a target applies after what precedes it: push raw.
    auto raw = split_slash(target);
    for (auto it = raw.rbegin(); it != raw.rend(); ++it) todo.push_back(*it);
  }
  return join_abs(done);
}

uint32_t go_file_mode(mode_t m) {
  uint32_t out = m & 0777;
  if (S_ISDIR(m)) out |= 1u << 31;
  if (S_ISLNK(m)) out |= 1u << 27;
  if (S_ISBLK(m)) out |= 1u << 26;
  if (S_ISCHR(m)) out |= (1u << 26) | (1u << 21);
  if (S_ISFIFO(m)) out |= 1u << 25;
  if (S_ISSOCK(m)) out |= 1u << 24;
  if (m & S_ISUID) out |= 1u << 23;
  if (m & S_ISGID) out |= 1u << 22;
  if (m & S_ISVTX) out |= 1u << 20;
  return out;
}

std::string path_stat_json(const PathStat& s) {
  OrderedJson j;
  j["name"] = s.name;
  j["size"] = s.size;
  j["mode"] = s.mode;
  j["mtime"] = timeutil::rfc3339_nano(s.mtime_ns);
  j["linkTarget"] = s.link_target;
  return j.dump();
}

std::string archive_abs_path(std::string_view path) {
  std::string cleaned = clean_abs(path);
  auto base_is_dot = [](std::string_view p) {
    while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
    auto s = p.rfind('/');
    std::string_view b = s == std::string_view::npos ? p : p.substr(s + 1);
    return b == ".";
  };
  if (!base_is_dot(cleaned) && (base_is_dot(path) || path == ".")) {
    if (cleaned.back() != '/') cleaned += '/';
    cleaned += '.';
  }
  if (cleaned.back() != '/' && !path.empty() && path.back() == '/') cleaned += '/';
  return cleaned;
}

std::string go_base(std::string_view abs) {
  while (abs.size() > 1 && abs.back() == '/') abs.remove_suffix(1);
  if (abs == "/") return "/";
  if (abs.empty()) return ".";
  auto s = abs.rfind('/');
  return std::string(s == std::string_view::npos ? abs : abs.substr(s + 1));
}

Result<ArchiveSource> stat_archive_path(const CopyRoot& root, std::string_view path) {
  std::string abs = archive_abs_path(path);
  auto slash = abs.rfind('/');
  std::string dir = abs.substr(0, slash + 1), base = abs.substr(slash + 1);
  std::string rdir = BERTH_TRY(root.resolve(dir));
  std::string resolved = (base.empty() || base == ".") ? rdir : (rdir == "/" ? "/" + base : rdir + "/" + base);
  auto st = lstat_in(root, resolved, nullptr, nullptr);
  if (!st) {
    if (st.error().kind == Errc::not_found || st.error().msg.find("No such file") != std::string::npos)
      return make_error(Errc::not_found, "no such file");
    if (st.error().msg.find("Not a directory") != std::string::npos)
      return make_error(Errc::internal, "lstat " + clean_abs(abs) + ": not a directory");
    return std::move(st).error();
  }
  ArchiveSource src;
  src.resolved = resolved;
  src.rebase = go_base(abs);
  src.stat.name = src.rebase;
  src.stat.size = st->st_size;
  src.stat.mode = go_file_mode(st->st_mode);
  src.stat.mtime_ns = int64_t(st->st_mtim.tv_sec) * 1000000000 + st->st_mtim.tv_nsec;
  src.stat.is_dir = S_ISDIR(st->st_mode);
  if (S_ISLNK(st->st_mode)) src.stat.link_target = BERTH_TRY(root.resolve(abs));
  return src;
}

Status write_archive(const CopyRoot& root, const ArchiveSource& src, const Sink& sink) {
  TarWriter w;
  BERTH_TRY_VOID(w.open(sink));
  UniqueFd pfd;
  std::string leaf;
  BERTH_TRY_VOID(lstat_in(root, src.resolved, &pfd, &leaf));
  TreeTar t(w);
  BERTH_TRY_VOID(t.add(pfd.get(), leaf, src.resolved, src.rebase, true));
  return w.close();
}

Status write_export(const CopyRoot& root, const Sink& sink) {
  TarWriter w;
  BERTH_TRY_VOID(w.open(sink));
  UniqueFd rfd(openat2_in_root(root.root_fd(), ".", O_PATH | O_DIRECTORY));
  if (!rfd) return sys_error("open rootfs");
  TreeTar t(w);
  BERTH_TRY_VOID(t.add(rfd.get(), "", "/", "", false));
  return w.close();
}

Status extract_archive(const CopyRoot& root, const ExtractRequest& req, int in_fd) {
  std::string abs = archive_abs_path(req.path);
  std::string resolved = BERTH_TRY(root.resolve(abs));
  auto st = lstat_in(root, resolved, nullptr, nullptr);
  if (!st) {
    if (st.error().msg.find("No such file") != std::string::npos) return make_error(Errc::not_found, "no such file");
    if (st.error().msg.find("Not a directory") != std::string::npos)
      return make_error(Errc::not_found, "no such file");
    return std::move(st).error();
  }
  if (!S_ISDIR(st->st_mode)) return make_error(Errc::internal, "extraction point is not a directory");
  const CopyMount* m = root.mount_of(resolved);
  if (m && m->read_only)
    return make_error(Errc::invalid, "mounted volume is marked read-only");
  if (!m && req.readonly_rootfs) return make_error(Errc::invalid, "container rootfs is marked read-only");
  auto [fd, rel] = root.locate(resolved);
  UniqueFd dest(openat2_in_root(fd, rel, O_RDONLY | O_DIRECTORY));
  if (!dest) return sys_error("open " + resolved);
  snapshot::ExtractOptions o;
  o.whiteouts = false;
  o.no_overwrite_dir_non_dir = req.no_overwrite_dir_non_dir;
  o.chown = req.chown;
  o.uid = req.uid;
  o.gid = req.gid;
  o.display_root = resolved;
  auto r = snapshot::apply_tar(in_fd, dest.get(), {}, o);
  if (!r) {
    return make_error(r.error().kind == Errc::conflict ? Errc::internal : r.error().kind,
                      "Error processing tar file(exit status 1): " + r.error().msg);
  }
  return ok();
}

}  // namespace berth::container
