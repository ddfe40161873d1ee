#include "image/commit.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <cstring>
#include <memory>
#include <thread>

#include "common/fs.h"
#include "common/time.h"
#include "image/changes.h"
#include "image/gzip_blob.h"
#include "image/reference.h"
#include "snapshot/layer_apply.h"

namespace berth::image {

namespace {

struct WriteFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

// Hard-linked files already written: (dev, inode) → their path in the tar.
using LinkMap = std::map<std::pair<dev_t, ino_t>, std::string>;

// Every extended attribute of fd except overlayfs's own bookkeeping.
Status copy_xattrs(struct archive_entry* e, int fd, const std::string& rel) {
  std::vector<char> names(4096);
  ssize_t n;
  for (;;) {
    n = ::flistxattr(fd, names.data(), names.size());
    if (n >= 0) break;
    if (errno == ERANGE && names.size() < (1u << 20)) {
      names.resize(names.size() * 4);
      continue;
    }
    if (errno == ENOTSUP || errno == EOPNOTSUPP) return ok();
    return sys_error("listxattr " + rel);
  }
  std::vector<char> val(65536);
  for (ssize_t off = 0; off < n;) {
    const char* name = names.data() + off;
    off += static_cast<ssize_t>(std::strlen(name)) + 1;
    if (std::strncmp(name, "trusted.overlay.", 16) == 0) continue;
    ssize_t vl = ::fgetxattr(fd, name, val.data(), val.size());
    if (vl < 0) {
      if (errno == ENODATA) continue;
      return sys_error(std::string("getxattr ") + name + " " + rel);
    }
    archive_entry_xattr_add_entry(e, name, val.data(), static_cast<size_t>(vl));
  }
  return ok();
}

Status add_entry(struct archive* a, int dirfd, const std::string& name, const std::string& rel, LinkMap& links) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return sys_error("stat " + rel);
  std::unique_ptr<struct archive_entry, EntryFree> e(archive_entry_new());
  const std::string parent = rel.find('/') == std::string::npos ? "" : rel.substr(0, rel.rfind('/') + 1);
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
    // overlay whiteout → .wh.NAME
    archive_entry_set_pathname(e.get(), (parent + ".wh." + name).c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), 0);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (archive_write_header(a, e.get()) != ARCHIVE_OK) return make_error(Errc::internal, archive_error_string(a));
    return ok();
  }
  archive_entry_set_pathname(e.get(), rel.c_str());
  archive_entry_copy_stat(e.get(), &st);
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlinkat(dirfd, name.c_str(), buf, sizeof buf - 1);
    if (n < 0) return sys_error("readlink " + rel);
    buf[n] = 0;
    archive_entry_set_symlink(e.get(), buf);
  }
  if (!S_ISREG(st.st_mode)) archive_entry_set_size(e.get(), 0);
  UniqueFd fd;
  if (S_ISREG(st.st_mode)) {
    if (st.st_nlink > 1) {
      // A second name of a file already in the tar: a hard-link entry, so
      // the new layer gets one inode again.
      auto [it, fresh] = links.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
      if (!fresh) {
        archive_entry_set_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        if (archive_write_header(a, e.get()) != ARCHIVE_OK)
          return make_error(Errc::internal, archive_error_string(a));
        return ok();
      }
    }
    fd = UniqueFd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return sys_error("open " + rel);
    BERTH_TRY_VOID(copy_xattrs(e.get(), fd.get(), rel));
  } else if (S_ISDIR(st.st_mode)) {
    UniqueFd dfd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dfd) return sys_error("open " + rel);
    BERTH_TRY_VOID(copy_xattrs(e.get(), dfd.get(), rel));
  }
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) return make_error(Errc::internal, archive_error_string(a));
  if (S_ISREG(st.st_mode)) {
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error("read " + rel);
      if (n == 0) break;
      if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) < 0)
        return make_error(Errc::internal, archive_error_string(a));
    }
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return sys_error("open " + rel);
    char v[4] = {};
    ssize_t xl = ::fgetxattr(sub.get(), "trusted.overlay.opaque", v, sizeof v);
    if (xl == 1 && v[0] == 'y') {
      std::unique_ptr<struct archive_entry, EntryFree> o(archive_entry_new());
      archive_entry_set_pathname(o.get(), (rel + "/.wh..wh..opq").c_str());
      archive_entry_set_filetype(o.get(), AE_IFREG);
      archive_entry_set_perm(o.get(), 0644);
      archive_entry_set_size(o.get(), 0);
      if (archive_write_header(a, o.get()) != ARCHIVE_OK) return make_error(Errc::internal, archive_error_string(a));
    }
    DIR* d = ::fdopendir(::dup(sub.get()));
    if (!d) return sys_error("opendir " + rel);
    std::vector<std::string> names;
    while (auto* ent = ::readdir(d))
      if (std::strcmp(ent->d_name, ".") && std::strcmp(ent->d_name, "..")) names.emplace_back(ent->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) BERTH_TRY_VOID(add_entry(a, sub.get(), n, rel + "/" + n, links));
  }
  return ok();
}

}  // namespace

Status write_upper_tar(const std::string& dir, int fd) {
  std::unique_ptr<struct archive, WriteFree> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open_fd(a.get(), fd) != ARCHIVE_OK) return make_error(Errc::internal, archive_error_string(a.get()));
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error("open " + dir);
  DIR* d = ::fdopendir(::dup(root.get()));
  if (!d) return sys_error("opendir " + dir);
  std::vector<std::string> names;
  while (auto* ent = ::readdir(d))
    if (std::strcmp(ent->d_name, ".") && std::strcmp(ent->d_name, "..")) names.emplace_back(ent->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  LinkMap links;
  for (const auto& n : names) BERTH_TRY_VOID(add_entry(a.get(), root.get(), n, n, links));
  if (archive_write_close(a.get()) != ARCHIVE_OK) return make_error(Errc::internal, archive_error_string(a.get()));
  return ok();
}

Result<Image> commit(ImageStore& store, const CommitRequest& req) {
  auto base = BERTH_TRY(store.resolve(req.image_id));
  std::string target;
  if (!req.repo.empty()) {
    auto ref = BERTH_TRY(parse_reference(req.repo));
    if (!ref.digest.empty()) return make_error(Errc::invalid, "cannot commit to a digest reference");
    if (!req.tag.empty()) {
      if (!is_valid_tag(req.tag)) return make_error(Errc::invalid, "invalid tag format");
      ref.tag = req.tag;
    }
    target = ref.familiar_string();
  }
  // The new image's runtime config: the container's, overridden by the
  // request body, then the --change instructions.
  Json cfg_section = req.container_config.is_object() ? req.container_config : Json::object();
  if (req.override_config.is_object())
    for (auto it = req.override_config.begin(); it != req.override_config.end(); ++it)
      if (!it.value().is_null()) cfg_section[it.key()] = it.value();
  BERTH_TRY_VOID(apply_changes(req.changes, cfg_section));

  // The layer: upper dir → tar → extractor (+ gzip blob).
  auto tmp = BERTH_TRY(store.make_tmp_layer());
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  Status wst;
  std::thread writer([&] {
    wst = write_upper_tar(req.upper_dir, wr.get());
    wr.reset();
  });
  auto gz = GzipBlob::open(store.blobs());
  Result<snapshot::ApplyResult> applied = make_error(Errc::internal, "no layer");
  if (gz) applied = snapshot::apply_tar(rd.get(), tmp.diff_fd(), [&](std::string_view d) { return (*gz)->write(d); });
  rd.reset();
  writer.join();
  if (!gz) return std::move(gz).error();
  if (!wst) return std::move(wst).error().wrap("commit: reading the container's changes");
  if (!applied) return std::move(applied).error();
  auto gd = BERTH_TRY((*gz)->finish());

  const int64_t now = timeutil::now_unix_nano();
  const std::string created = timeutil::rfc3339_nano(now);
  Json cfg = base.config;
  cfg["config"] = cfg_section;
  cfg["container"] = req.container_id;
  cfg["container_config"] = req.container_config;
  cfg["created"] = created;
  if (!req.author.empty()) cfg["author"] = req.author;
  else cfg.erase("author");
  if (!req.comment.empty()) cfg["comment"] = req.comment;
  else cfg.erase("comment");
  if (!cfg.contains("rootfs") || !cfg["rootfs"].is_object()) cfg["rootfs"] = Json{{"type", "layers"}, {"diff_ids", Json::array()}};
  cfg["rootfs"]["diff_ids"].push_back(applied->diff_id.str());
  Json h = {{"created", created}};
  std::string by;
  if (req.container_config.is_object() && req.container_config.contains("Cmd") && req.container_config["Cmd"].is_array())
    for (const auto& c : req.container_config["Cmd"])
      if (c.is_string()) by += (by.empty() ? "" : " ") + c.get<std::string>();
  h["created_by"] = by;
  if (!req.author.empty()) h["author"] = req.author;
  if (!req.comment.empty()) h["comment"] = req.comment;
  if (!cfg.contains("history") || !cfg["history"].is_array()) cfg["history"] = Json::array();
  cfg["history"].push_back(h);

  NewImage n;
  n.config_bytes = cfg.dump();
  std::optional<Digest> parent;
  auto diffs = ImageStore::diff_ids(base);
  for (size_t i = 0; i < diffs.size(); ++i) {
    auto dd = BERTH_TRY(Digest::parse(diffs[i]));
    NewImage::Layer l;
    l.diff_id = dd;
    l.chain = snapshot::chain_id(parent ? &*parent : nullptr, dd);
    parent = l.chain;
    l.size = i < base.layer_sizes.size() ? base.layer_sizes[i] : 0;
    n.layers.push_back(l);
  }
  NewImage::Layer top;
  top.diff_id = applied->diff_id;
  top.chain = snapshot::chain_id(parent ? &*parent : nullptr, applied->diff_id);
  top.size = applied->size;
  top.tmp = store.has_layer(top.chain) ? nullptr : &tmp;
  n.layers.push_back(top);
  n.blobs.push_back(LayerBlob{applied->diff_id.str(), gd.str(), "application/vnd.docker.image.rootfs.diff.tar.gzip",
                              (*gz)->size()});
  if (!target.empty()) n.tags.push_back(target);
  return store.commit_image(n);
}

}  // namespace berth::image
