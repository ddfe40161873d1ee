// Test helper: build tar archives in memory with libarchive (used by the
// image, snapshot and integration tests).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/unique_fd.h"

namespace berth::testing {

struct TarOpts {
  unsigned mode = 0;
  int64_t uid = 0, gid = 0;
  int64_t mtime = 1700000000;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

class TarBuilder {
 public:
  enum class Filter { none, gzip, bzip2, xz, zstd };
  using Opts = TarOpts;

  explicit TarBuilder(Filter f = Filter::none) : a_(archive_write_new()) {
    archive_write_set_format_pax_restricted(a_);
    switch (f) {
      case Filter::none: break;
      case Filter::gzip: archive_write_add_filter_gzip(a_); break;
      case Filter::bzip2: archive_write_add_filter_bzip2(a_); break;
      case Filter::xz: archive_write_add_filter_xz(a_); break;
      case Filter::zstd: archive_write_add_filter_zstd(a_); break;
    }
    archive_write_set_bytes_in_last_block(a_, 1);
    if (archive_write_open(a_, this, nullptr, &TarBuilder::write_cb, nullptr) != ARCHIVE_OK)
      throw std::runtime_error("archive_write_open failed");
  }
  ~TarBuilder() {
    if (a_) archive_write_free(a_);
  }

  TarBuilder& dir(const std::string& path, Opts o = {}) { return add(path, AE_IFDIR, o.mode ? o.mode : 0755, "", "", "", o); }
  TarBuilder& file(const std::string& path, const std::string& data, Opts o = {}) {
    return add(path, AE_IFREG, o.mode ? o.mode : 0644, data, "", "", o);
  }
  TarBuilder& symlink(const std::string& path, const std::string& target, Opts o = {}) {
    return add(path, AE_IFLNK, 0777, "", target, "", o);
  }
  TarBuilder& hardlink(const std::string& path, const std::string& target, Opts o = {}) {
    return add(path, AE_IFREG, 0644, "", "", target, o);
  }
  TarBuilder& fifo(const std::string& path, Opts o = {}) { return add(path, AE_IFIFO, o.mode ? o.mode : 0644, "", "", "", o); }
  TarBuilder& chardev(const std::string& path, unsigned maj, unsigned min, Opts o = {}) {
    rdev_ = makedev(maj, min);
    return add(path, AE_IFCHR, o.mode ? o.mode : 0666, "", "", "", o);
  }

  // The finished archive bytes (as they would be sent).
  std::string finish() {
    archive_write_close(a_);
    archive_write_free(a_);
    a_ = nullptr;
    return out_;
  }
  // Uncompressed tar bytes of an archive built without a filter equal finish().

 private:
  TarBuilder& add(const std::string& path, unsigned type, unsigned mode, const std::string& data,
                  const std::string& symlink, const std::string& hardlink, const Opts& o) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    if (!hardlink.empty()) {
      archive_entry_set_hardlink(e, hardlink.c_str());
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_filetype(e, type);
      archive_entry_set_perm(e, mode);
      archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
      if (!symlink.empty()) archive_entry_set_symlink(e, symlink.c_str());
      if (type == AE_IFCHR) archive_entry_set_rdev(e, rdev_);
    }
    archive_entry_set_uid(e, o.uid);
    archive_entry_set_gid(e, o.gid);
    archive_entry_set_mtime(e, o.mtime, 0);
    for (const auto& [k, v] : o.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    if (archive_write_header(a_, e) != ARCHIVE_OK) throw std::runtime_error(archive_error_string(a_));
    if (!data.empty()) archive_write_data(a_, data.data(), data.size());
    archive_entry_free(e);
    return *this;
  }
  static la_ssize_t write_cb(struct archive*, void* ctx, const void* buf, size_t n) {
    static_cast<TarBuilder*>(ctx)->out_.append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  struct archive* a_;
  std::string out_;
  dev_t rdev_ = 0;
};

// An fd positioned at the start of `bytes` (what import reads until EOF).
inline UniqueFd memfd_with(const std::string& bytes) {
  UniqueFd fd(::memfd_create("tar", MFD_CLOEXEC));
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + off, bytes.size() - off);
    if (n <= 0) throw std::runtime_error("write memfd");
    off += static_cast<size_t>(n);
  }
  ::lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

}  // namespace berth::testing
