#include "snapshot/layer_apply.h"

#include "snapshot/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#ifdef BERTH_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

namespace berth::snapshot {

namespace {

constexpr size_t kBufSize = 1 << 20;

int sys_openat2(int dirfd, const char* path, uint64_t flags, uint64_t resolve) {
  struct open_how how {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = resolve;
  for (;;) {
    long r = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (r >= 0) return static_cast<int>(r);
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
}

constexpr uint64_t kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

std::string join_comps(const std::vector<std::string>& c, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += '/';
    out += c[i];
  }
  return out.empty() ? std::string(".") : out;
}

Error bad_entry(std::string_view name, std::string_view why) {
  return make_error(Errc::invalid, "invalid tar entry \"" + std::string(name) + "\": " + std::string(why));
}

// Lexically clean a tar member name into components. Leading "/" and "."
// are dropped (names are relative to the layer root); ".." that would
// climb above the root is rejected.
Result<std::vector<std::string>> clean_path(std::string_view name) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view c = name.substr(i, j - i);
    i = j + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (out.empty()) return bad_entry(name, "path escapes the layer root");
      out.pop_back();
      continue;
    }
    out.emplace_back(c);
  }
  return out;
}

// Decompressed view of the input: a libarchive "raw" reader with the
// compression filters, pulled by the tar reader through read_cb, hashing
// every byte it hands over (that hash is the diff ID).
struct Source {
  int fd = -1;
  struct archive* raw = nullptr;
  size_t pending = 0;  // bytes already read into in_buf (the sniffed start), handed out first
#ifdef BERTH_HAVE_ISAL
  // gzip through ISA-L's igzip (several times zlib's inflate speed);
  // anything else through libarchive's filters.
  std::unique_ptr<inflate_state> isal;
  size_t isal_have = 0;  // unread input in in_buf for isal
  bool in_eof = false;
  bool isal_done = false;
#endif
  std::vector<char> in_buf = std::vector<char>(kBufSize);
  std::vector<char> out_buf = std::vector<char>(kBufSize);
  Sha256 hash;
  int64_t in_bytes = 0;
  int64_t out_bytes = 0;  // uncompressed bytes handed to the tar reader or drained after it
  bool empty_input = false;
  std::string err;
  const Tee* tee = nullptr;
  Status tee_status;

  ~Source() {
    if (raw) archive_read_free(raw);
  }
};

la_ssize_t fd_read_cb(struct archive* a, void* ctx, const void** buf) {
  auto* s = static_cast<Source*>(ctx);
  if (s->pending) {
    la_ssize_t n = static_cast<la_ssize_t>(s->pending);
    s->pending = 0;
    *buf = s->in_buf.data();
    return n;
  }
  for (;;) {
    ssize_t n = ::read(s->fd, s->in_buf.data(), s->in_buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      archive_set_error(a, errno, "read: %s", std::strerror(errno));
      return -1;
    }
    s->in_bytes += n;
    *buf = s->in_buf.data();
    return n;
  }
}

#ifdef BERTH_HAVE_ISAL
// Next inflated bytes into out (0 at the end of the last gzip member);
// -1 with s->err set on corrupt or truncated input.
la_ssize_t isal_read(Source* s, char* out, size_t cap) {
  inflate_state& st = *s->isal;
  for (int guard = 0; guard < (1 << 20); ++guard) {
    if (s->isal_done) return 0;
    if (st.avail_in == 0 && !s->in_eof) {
      ssize_t n = ::read(s->fd, s->in_buf.data(), s->in_buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        s->err = std::string("read: ") + std::strerror(errno);
        return -1;
      }
      s->in_bytes += n;
      if (n == 0) s->in_eof = true;
      st.next_in = reinterpret_cast<uint8_t*>(s->in_buf.data());
      st.avail_in = static_cast<uint32_t>(n);
    }
    if (st.block_state == ISAL_BLOCK_FINISH) {
      // Another gzip member follows (concatenated gzip), or the end.
      if (st.avail_in == 0 && s->in_eof) {
        s->isal_done = true;
        return 0;
      }
      if (st.avail_in == 0) continue;
      if (st.next_in[0] != 0x1f) {  // trailing padding after the stream: ignored, as gzip(1)
        s->isal_done = true;
        return 0;
      }
      uint8_t* nin = st.next_in;
      uint32_t ain = st.avail_in;
      isal_inflate_reset(&st);
      st.crc_flag = ISAL_GZIP;
      st.next_in = nin;
      st.avail_in = ain;
    }
    st.next_out = reinterpret_cast<uint8_t*>(out);
    st.avail_out = static_cast<uint32_t>(cap);
    int r = isal_inflate(&st);
    if (r != ISAL_DECOMP_OK && r != ISAL_END_INPUT) {
      s->err = r == ISAL_INCORRECT_CHECKSUM ? "gzip: checksum mismatch" : "gzip: invalid compressed data";
      return -1;
    }
    size_t produced = cap - st.avail_out;
    if (produced > 0) return static_cast<la_ssize_t>(produced);
    if (s->in_eof && st.avail_in == 0 && st.block_state != ISAL_BLOCK_FINISH) {
      s->err = "gzip: unexpected end of compressed data (truncated)";
      return -1;
    }
  }
  s->err = "gzip: no progress";
  return -1;
}
#endif

// The uncompressed stream: ISA-L for gzip, else libarchive's raw reader.
la_ssize_t raw_read(Source* s) {
#ifdef BERTH_HAVE_ISAL
  if (s->isal) return isal_read(s, s->out_buf.data(), s->out_buf.size());
#endif
  la_ssize_t n = archive_read_data(s->raw, s->out_buf.data(), s->out_buf.size());
  if (n < 0) {
    const char* e = archive_error_string(s->raw);
    s->err = e ? e : "decompression failed";
  }
  return n;
}

la_ssize_t tar_read_cb(struct archive* a, void* ctx, const void** buf) {
  auto* s = static_cast<Source*>(ctx);
  if (s->empty_input) return 0;
  la_ssize_t n = raw_read(s);
  if (n < 0) {
    archive_set_error(a, EIO, "%s", s->err.c_str());
    return -1;
  }
  s->hash.update(s->out_buf.data(), static_cast<size_t>(n));
  s->out_bytes += n;
  if (s->tee && *s->tee && n > 0) {
    auto st = (*s->tee)(std::string_view(s->out_buf.data(), static_cast<size_t>(n)));
    if (!st) {
      s->err = st.error().msg;
      s->tee_status = std::move(st);
      archive_set_error(a, EIO, "%s", s->err.c_str());
      return -1;
    }
  }
  *buf = s->out_buf.data();
  return n;
}

struct DirTimes {
  std::string path;
  struct timespec ts[2];
};

class Extractor {
 public:
  Extractor(int root, bool is_root, const ExtractOptions& o) : root_(root), is_root_(is_root), opts_(o) {}
  Status entry(struct archive* a, struct archive_entry* e);
  void finish();
  int64_t size() const { return size_; }

 private:
  using FdPtr = std::shared_ptr<UniqueFd>;
  Result<FdPtr> ensure_dir(const std::vector<std::string>& comps, size_t n, std::string_view name);
  Status remove_existing(int pfd, const std::string& leaf, bool keep_dir, std::string_view name);
  // Create a leaf with make(); if the name is taken, replace what is there.
  template <class F>
  Status create_leaf(int pfd, const std::string& leaf, std::string_view name, const char* what, F make);
  Status set_meta(int pfd, const std::string& leaf, int fd, struct archive_entry* e,
                  std::string_view name, bool is_dir, const std::string& rel);
  Status write_data(struct archive* a, int fd, struct archive_entry* e, std::string_view name);
  Status whiteout(const std::vector<std::string>& comps, struct archive_entry* e, std::string_view name);

  // no_overwrite_dir_non_dir: refuses to replace a directory by a
  // non-directory (new_is_dir false) or a non-directory by a directory.
  Status check_overwrite(int pfd, const std::string& leaf, bool new_is_dir, const std::string& rel);

  int root_;
  bool is_root_;
  const ExtractOptions& opts_;
  int64_t size_ = 0;
  std::vector<DirTimes> dir_times_;
  // The last parent directory resolved (entries come grouped by directory).
  // Any removal may change what a path resolves to, so it drops the cache.
  std::string cache_path_;
  FdPtr cache_fd_;
};

// Open (creating as needed, mode 0755) the directory made of the first n
// components, resolved inside the root. Returns an O_PATH fd.
Result<Extractor::FdPtr> Extractor::ensure_dir(const std::vector<std::string>& comps, size_t n,
                                               std::string_view name) {
  std::string full = join_comps(comps, n);
  if (cache_fd_ && cache_path_ == full) return cache_fd_;
  int fd = sys_openat2(root_, full.c_str(), O_PATH | O_DIRECTORY, kResolve);
  if (fd >= 0) {
    cache_path_ = full;
    cache_fd_ = std::make_shared<UniqueFd>(fd);
    return cache_fd_;
  }
  if (errno != ENOENT) return sys_error("open parent of \"" + std::string(name) + "\"").wrap("extract");
  UniqueFd cur(sys_openat2(root_, ".", O_PATH | O_DIRECTORY, kResolve));
  if (!cur) return sys_error("open layer root");
  for (size_t k = 1; k <= n; ++k) {
    std::string prefix = join_comps(comps, k);
    int next = sys_openat2(root_, prefix.c_str(), O_PATH | O_DIRECTORY, kResolve);
    if (next < 0 && errno == ENOENT) {
      // cur is the (resolved) parent of comps[k-1]; create it there.
      if (::mkdirat(cur.get(), comps[k - 1].c_str(), 0755) != 0 && errno != EEXIST)
        return sys_error("mkdir \"" + prefix + "\"").wrap("extract \"" + std::string(name) + "\"");
      next = sys_openat2(root_, prefix.c_str(), O_PATH | O_DIRECTORY, kResolve);
    }
    if (next < 0) {
      if (errno == ENOTDIR || errno == ENOENT)
        return bad_entry(name, "parent \"" + prefix + "\" is not a directory");
      return sys_error("open \"" + prefix + "\"").wrap("extract \"" + std::string(name) + "\"");
    }
    cur.reset(next);
  }
  cache_path_ = full;
  cache_fd_ = std::make_shared<UniqueFd>(cur.release());
  return cache_fd_;
}

Status Extractor::remove_existing(int pfd, const std::string& leaf, bool keep_dir,
                                  std::string_view name) {
  struct stat st {};
  if (::fstatat(pfd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return ok();
    return sys_error("stat").wrap("extract \"" + std::string(name) + "\"");
  }
  if (keep_dir && S_ISDIR(st.st_mode)) return ok();
  cache_fd_.reset();
  cache_path_.clear();
  return remove_tree_at(pfd, leaf).transform_error(
      [&](Error e) { return std::move(e).wrap("extract \"" + std::string(name) + "\": replace"); });
}

Status Extractor::check_overwrite(int pfd, const std::string& leaf, bool new_is_dir, const std::string& rel) {
  if (!opts_.no_overwrite_dir_non_dir) return ok();
  struct stat st {};
  if (::fstatat(pfd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return ok();
  if (S_ISDIR(st.st_mode) == new_is_dir) return ok();
  std::string root = opts_.display_root;
  std::string full = root == "/" ? "/" + rel : root + "/" + rel;
  return make_error(Errc::conflict, std::string("cannot overwrite ") + (new_is_dir ? "non-directory" : "directory") +
                                        " \"" + full + "\" with " + (new_is_dir ? "directory" : "non-directory") +
                                        " \"" + root + "\"");
}

template <class F>
Status Extractor::create_leaf(int pfd, const std::string& leaf, std::string_view name, const char* what,
                              F make) {
  if (make() == 0) return ok();
  if (errno != EEXIST) return sys_error(what).wrap("extract \"" + std::string(name) + "\"");
  if (opts_.no_overwrite_dir_non_dir) {
    auto comps = clean_path(name);
    BERTH_TRY_VOID(check_overwrite(pfd, leaf, false, comps ? join_comps(*comps, comps->size()) : leaf));
  }
  BERTH_TRY_VOID(remove_existing(pfd, leaf, false, name));
  if (make() == 0) return ok();
  return sys_error(what).wrap("extract \"" + std::string(name) + "\"");
}

Status Extractor::write_data(struct archive* a, int fd, struct archive_entry* e,
                             std::string_view name) {
  const void* buf = nullptr;
  size_t len = 0;
  la_int64_t off = 0;
  int64_t expect = 0;
  bool sparse = false;
  for (;;) {
    int r = archive_read_data_block(a, &buf, &len, &off);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      const char* m = archive_error_string(a);
      return make_error(Errc::invalid, "invalid tar archive: reading \"" + std::string(name) +
                                           "\": " + (m ? m : "read error"));
    }
    if (off != expect) sparse = true;
    const char* p = static_cast<const char*>(buf);
    size_t left = len;
    int64_t pos = off;
    while (left > 0) {
      ssize_t w = ::pwrite(fd, p, left, pos);
      if (w < 0) {
        if (errno == EINTR) continue;
        return sys_error("write").wrap("extract \"" + std::string(name) + "\"");
      }
      p += w;
      pos += w;
      left -= static_cast<size_t>(w);
    }
    expect = off + static_cast<int64_t>(len);
  }
  int64_t size = archive_entry_size(e);
  if (sparse || expect < size) {
    if (::ftruncate(fd, size) != 0) return sys_error("truncate").wrap("extract \"" + std::string(name) + "\"");
  }
  return ok();
}

Status Extractor::set_meta(int pfd, const std::string& leaf, int fd, struct archive_entry* e,
                           std::string_view name, bool is_dir, const std::string& rel) {
  auto ctx = [&](Error err) { return std::move(err).wrap("extract \"" + std::string(name) + "\""); };
  uid_t uid = opts_.chown ? opts_.uid : static_cast<uid_t>(archive_entry_uid(e));
  gid_t gid = opts_.chown ? opts_.gid : static_cast<gid_t>(archive_entry_gid(e));
  const bool is_link = archive_entry_filetype(e) == AE_IFLNK;
  // Ownership first: chown clears setuid/setgid bits that chmod then sets.
  if (is_root_) {
    int r = fd >= 0 ? ::fchown(fd, uid, gid) : ::fchownat(pfd, leaf.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
    if (r != 0) return ctx(sys_error("chown"));
  }
  if (!is_link) {
    mode_t mode = archive_entry_perm(e) & 07777;
    int r = fd >= 0 ? ::fchmod(fd, mode) : ::fchmodat(pfd, leaf.c_str(), mode, 0);
    if (r != 0) return ctx(sys_error("chmod"));
  }
  if (fd >= 0) {
    archive_entry_xattr_reset(e);
    const char* xname = nullptr;
    const void* xval = nullptr;
    size_t xlen = 0;
    while (archive_entry_xattr_next(e, &xname, &xval, &xlen) == ARCHIVE_OK) {
      if (!xname) continue;
      // The layer's overlay metadata is ours to write (whiteouts), never the archive's.
      if (std::strncmp(xname, "trusted.overlay.", 16) == 0) continue;
      if (::fsetxattr(fd, xname, xval, xlen, 0) != 0) {
        if (errno == ENOTSUP || errno == EPERM || errno == EOPNOTSUPP) continue;
        return ctx(sys_error(std::string("setxattr ") + xname));
      }
    }
  }
  struct timespec ts[2];
  ts[1].tv_sec = archive_entry_mtime(e);
  ts[1].tv_nsec = archive_entry_mtime_nsec(e);
  if (archive_entry_atime_is_set(e)) {
    ts[0].tv_sec = archive_entry_atime(e);
    ts[0].tv_nsec = archive_entry_atime_nsec(e);
  } else {
    ts[0] = ts[1];
  }
  if (is_dir) {
    // Creating children changes a directory's mtime: set it at the end.
    DirTimes d;
    d.path = rel;
    d.ts[0] = ts[0];
    d.ts[1] = ts[1];
    dir_times_.push_back(std::move(d));
    return ok();
  }
  int r = fd >= 0 ? ::futimens(fd, ts) : ::utimensat(pfd, leaf.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  if (r != 0) return ctx(sys_error("set times"));
  return ok();
}

Status Extractor::whiteout(const std::vector<std::string>& comps, struct archive_entry* e,
                           std::string_view name) {
  const std::string& leaf = comps.back();
  if (leaf == ".wh..wh..opq") {
    BERTH_TRY_VOID(ensure_dir(comps, comps.size() - 1, name));
    std::string dir = join_comps(comps, comps.size() - 1);
    UniqueFd dfd(sys_openat2(root_, dir.c_str(), O_RDONLY | O_DIRECTORY, kResolve));
    if (!dfd) return sys_error("open \"" + dir + "\"").wrap("extract \"" + std::string(name) + "\"");
    if (::fsetxattr(dfd.get(), "trusted.overlay.opaque", "y", 1, 0) != 0)
      return sys_error("set trusted.overlay.opaque on \"" + dir + "\" (needs CAP_SYS_ADMIN)")
          .wrap("extract \"" + std::string(name) + "\"");
    return ok();
  }
  if (leaf.rfind(".wh..wh.", 0) == 0) return ok();  // AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs)
  std::string target = leaf.substr(4);
  if (target.empty() || target == "." || target == "..") return bad_entry(name, "invalid whiteout");
  auto pfd = BERTH_TRY(ensure_dir(comps, comps.size() - 1, name));
  BERTH_TRY_VOID(create_leaf(pfd->get(), target, name, "create whiteout (needs CAP_MKNOD)", [&] {
    return ::mknodat(pfd->get(), target.c_str(), S_IFCHR, makedev(0, 0));
  }));
  if (is_root_ &&
      ::fchownat(pfd->get(), target.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                 static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) != 0)
    return sys_error("chown whiteout").wrap("extract \"" + std::string(name) + "\"");
  return ok();
}

Status Extractor::entry(struct archive* a, struct archive_entry* e) {
  const char* raw_name = archive_entry_pathname(e);
  if (!raw_name) raw_name = archive_entry_pathname_utf8(e);
  if (!raw_name) return make_error(Errc::invalid, "invalid tar archive: entry without a name");
  std::string_view name(raw_name);
  auto comps = BERTH_TRY(clean_path(name));
  const mode_t type = archive_entry_filetype(e);
  const char* hardlink = archive_entry_hardlink(e);

  if (comps.empty()) {
    // The archive's "./": metadata for the layer root itself.
    if (hardlink || type != AE_IFDIR) return bad_entry(name, "the root must be a directory");
    UniqueFd rfd(sys_openat2(root_, ".", O_RDONLY | O_DIRECTORY, kResolve));
    if (!rfd) return sys_error("open layer root");
    return set_meta(root_, ".", rfd.get(), e, name, true, ".");
  }
  const std::string& leaf = comps.back();
  if (opts_.whiteouts && leaf.rfind(".wh.", 0) == 0) return whiteout(comps, e, name);

  auto pfd = BERTH_TRY(ensure_dir(comps, comps.size() - 1, name));
  const int p = pfd->get();
  const std::string rel = join_comps(comps, comps.size());

  if (hardlink) {
    auto tcomps = BERTH_TRY(clean_path(hardlink));
    if (tcomps.empty()) return bad_entry(name, "hard link to the layer root");
    std::string tparent = join_comps(tcomps, tcomps.size() - 1);
    UniqueFd tfd(sys_openat2(root_, tparent.c_str(), O_PATH | O_DIRECTORY, kResolve));
    struct stat st {};
    if (!tfd || ::fstatat(tfd.get(), tcomps.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return bad_entry(name, "hard link target \"" + std::string(hardlink) + "\" is not in the layer");
    if (S_ISDIR(st.st_mode)) return bad_entry(name, "hard link to a directory");
    if (tcomps == comps) return ok();  // a link to itself: already there
    // flags 0: a symlink target is linked itself, never followed.
    return create_leaf(p, leaf, name, "hard link", [&] {
      return ::linkat(tfd.get(), tcomps.back().c_str(), p, leaf.c_str(), 0);
    });
  }

  switch (type) {
    case AE_IFREG: {
      UniqueFd fd;
      BERTH_TRY_VOID(create_leaf(p, leaf, name, "create", [&] {
        fd.reset(::openat(p, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        return fd ? 0 : -1;
      }));
      BERTH_TRY_VOID(write_data(a, fd.get(), e, name));
      size_ += archive_entry_size(e);
      return set_meta(p, leaf, fd.get(), e, name, false, rel);
    }
    case AE_IFDIR: {
      if (::mkdirat(p, leaf.c_str(), 0700) != 0) {
        if (errno != EEXIST) return sys_error("mkdir").wrap("extract \"" + std::string(name) + "\"");
        BERTH_TRY_VOID(check_overwrite(p, leaf, true, rel));
        BERTH_TRY_VOID(remove_existing(p, leaf, true, name));  // keeps a directory
        if (::mkdirat(p, leaf.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("mkdir").wrap("extract \"" + std::string(name) + "\"");
      }
      UniqueFd fd(::openat(p, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) return sys_error("open directory").wrap("extract \"" + std::string(name) + "\"");
      return set_meta(p, leaf, fd.get(), e, name, true, rel);
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (!target) target = archive_entry_symlink_utf8(e);
      if (!target) return bad_entry(name, "symlink without a target");
      BERTH_TRY_VOID(create_leaf(p, leaf, name, "symlink", [&] { return ::symlinkat(target, p, leaf.c_str()); }));
      size_ += static_cast<int64_t>(std::strlen(target));
      return set_meta(p, leaf, -1, e, name, false, rel);
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
      mode_t m = (type == AE_IFCHR ? S_IFCHR : type == AE_IFBLK ? S_IFBLK : S_IFIFO) | 0600;
      dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(e);
      BERTH_TRY_VOID(create_leaf(p, leaf, name, "mknod", [&] { return ::mknodat(p, leaf.c_str(), m, dev); }));
      return set_meta(p, leaf, -1, e, name, false, rel);
    }
    case AE_IFSOCK:
      return ok();  // sockets are not carried in layers (as Docker)
    default:
      return bad_entry(name, "unsupported file type");
  }
}

void Extractor::finish() {
  for (const auto& d : dir_times_) {
    UniqueFd fd(sys_openat2(root_, d.path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, kResolve));
    if (fd) (void)::futimens(fd.get(), d.ts);
  }
}

Error archive_err(struct archive* a, const Source& src, std::string_view fallback) {
  if (!src.tee_status) return src.tee_status.error();
  if (!src.err.empty()) return make_error(Errc::invalid, "invalid tar archive: " + src.err);
  const char* m = archive_error_string(a);
  return make_error(Errc::invalid, "invalid tar archive: " + std::string(m ? m : fallback));
}

void drain_fd(int fd) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
  }
}

struct ArchiveFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

}  // namespace

Status remove_tree_at(int dirfd, const std::string& name) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? ok() : sys_error("stat " + name);
  // A mount point (a file or directory bind of a container seen through
  // /proc/<pid>/root) is never removed: from outside the container's mount
  // namespace the kernel would allow it and silently detach the mount.
  struct statx stx {};
  if (::statx(dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW, 0, &stx) == 0 &&
      (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
    errno = EBUSY;
    return sys_error("unlink " + name);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) return sys_error("unlink " + name);
    return ok();
  }
  struct stat parent {};
  if (::fstat(dirfd, &parent) == 0 && parent.st_dev != st.st_dev)
    return make_error(Errc::conflict, name + " is a mount point");
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return sys_error("open " + name);
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return sys_error("fdopendir " + name);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
  std::vector<std::string> names;
  while (auto* ent = ::readdir(d)) {
    if (!std::strcmp(ent->d_name, ".") || !std::strcmp(ent->d_name, "..")) continue;
    names.emplace_back(ent->d_name);
  }
  for (const auto& n : names) BERTH_TRY_VOID(remove_tree_at(::dirfd(d), n));
  guard.reset();
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return sys_error("rmdir " + name);
  return ok();
}

Digest chain_id(const Digest* parent_chain, const Digest& diff_id) {
  if (!parent_chain) return diff_id;
  return Digest::of(parent_chain->str() + " " + diff_id.str());
}

Result<ApplyResult> apply_tar(int in_fd, int dest_dirfd, const Tee& tee) {
  return apply_tar(in_fd, dest_dirfd, tee, ExtractOptions{});
}

Result<ApplyResult> apply_tar(int in_fd, int dest_dirfd, const Tee& tee, const ExtractOptions& opts) {
  Source src;
  src.fd = in_fd;
  src.tee = &tee;
  src.raw = archive_read_new();
  if (!src.raw) return make_error(Errc::internal, "libarchive: out of memory");
  // Sniff the start: gzip goes through ISA-L.
  while (src.pending < 2) {
    ssize_t n = ::read(in_fd, src.in_buf.data() + src.pending, src.in_buf.size() - src.pending);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read layer stream");
    if (n == 0) break;
    src.pending += static_cast<size_t>(n);
    src.in_bytes += n;
  }
  const bool gzip = src.pending >= 2 && static_cast<unsigned char>(src.in_buf[0]) == 0x1f &&
                    static_cast<unsigned char>(src.in_buf[1]) == 0x8b;
#ifdef BERTH_HAVE_ISAL
  if (gzip) {
    src.isal = std::make_unique<inflate_state>();
    isal_inflate_init(src.isal.get());
    src.isal->crc_flag = ISAL_GZIP;
    src.isal->next_in = reinterpret_cast<uint8_t*>(src.in_buf.data());
    src.isal->avail_in = static_cast<uint32_t>(src.pending);
    src.pending = 0;
  }
#endif
  (void)gzip;
  // Only in-process decompressors: no external helper programs.
  archive_read_support_filter_gzip(src.raw);
  archive_read_support_filter_bzip2(src.raw);
  archive_read_support_filter_xz(src.raw);
  archive_read_support_filter_lzma(src.raw);
  archive_read_support_filter_zstd(src.raw);
  archive_read_support_format_raw(src.raw);
#ifdef BERTH_HAVE_ISAL
  const bool use_isal = src.isal != nullptr;
#else
  const bool use_isal = false;
#endif
  if (use_isal) {
    // the raw libarchive reader is not used
  } else if (archive_read_open(src.raw, &src, nullptr, fd_read_cb, nullptr) != ARCHIVE_OK) {
    if (src.in_bytes == 0) {
      src.empty_input = true;  // nothing at all: an empty layer, as Docker accepts
    } else {
      const char* m = archive_error_string(src.raw);
      return make_error(Errc::invalid, std::string("invalid tar archive: ") +
                                           (m ? m : "unrecognised or truncated compressed stream"));
    }
  }
  if (!src.empty_input && !use_isal) {
    struct archive_entry* re = nullptr;
    if (archive_read_next_header(src.raw, &re) < ARCHIVE_WARN) return archive_err(src.raw, src, "bad stream");
  }

  std::unique_ptr<struct archive, ArchiveFree> tar(archive_read_new());
  if (!tar) return make_error(Errc::internal, "libarchive: out of memory");
  archive_read_support_format_tar(tar.get());
  archive_read_support_format_gnutar(tar.get());
  archive_read_support_format_empty(tar.get());
  if (archive_read_open(tar.get(), &src, nullptr, tar_read_cb, nullptr) != ARCHIVE_OK)
    return archive_err(tar.get(), src, "not a tar archive");

  Extractor ex(dest_dirfd, ::geteuid() == 0, opts);
  ApplyResult res{Digest::of(""), 0, 0};
  int64_t entries_end = 0;  // tar offset just past the last entry's data and padding
  for (;;) {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(tar.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return archive_err(tar.get(), src, "bad header");
    BERTH_TRY_VOID(ex.entry(tar.get(), e));
    ++res.entries;
    if (opts.require_end_marker) {
      if (archive_read_data_skip(tar.get()) < ARCHIVE_WARN) return archive_err(tar.get(), src, "bad entry");
      entries_end = archive_filter_bytes(tar.get(), 0);
    }
  }
  ex.finish();
  // The diff ID covers the whole uncompressed stream, padding included.
  if (!src.empty_input) {
    for (;;) {
      la_ssize_t n = raw_read(&src);
      if (n < 0) return make_error(Errc::invalid, "invalid tar archive: " + src.err);
      if (n == 0) break;
      src.hash.update(src.out_buf.data(), static_cast<size_t>(n));
      src.out_bytes += n;
      if (tee) BERTH_TRY_VOID(tee(std::string_view(src.out_buf.data(), static_cast<size_t>(n))));
    }
  }
  // Nothing after the last entry: the zero block that ends a tar is missing.
  if (opts.require_end_marker && src.out_bytes > 0 && entries_end >= src.out_bytes)
    return make_error(Errc::invalid, "invalid tar archive: unexpected EOF (the archive ends without its "
                                     "end-of-archive blocks: truncated)");
  drain_fd(in_fd);
  res.diff_id = BERTH_TRY(Digest::from_hex(src.hash.hex()));
  res.size = ex.size();
  return res;
}

}  // namespace berth::snapshot
