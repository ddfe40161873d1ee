// Content-addressed blob store: DATA_ROOT/content/blobs/sha256/<hex>.
//
// A blob is written into content/ingest/, hashed while it streams, fsynced,
// renamed into blobs/sha256/<hex> and the directory fsynced; a reader never
// sees a partial blob. Leftover ingest files (a crash mid-write) are swept
// by open().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/id.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::content {

class BlobStore;

// One in-progress ingest. Dropping it without commit() removes the file.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&& o) noexcept
      : store_(o.store_), path_(std::move(o.path_)), fd_(std::move(o.fd_)),
        hash_(std::move(o.hash_)), size_(o.size_), done_(std::exchange(o.done_, true)) {}
  BlobWriter& operator=(BlobWriter&&) = delete;
  ~BlobWriter();
  Status write(std::string_view data);
  // Fsync, check the digest (when `expected` is given), rename into place,
  // fsync the blob directory. Committing a blob that already exists is fine.
  Result<Digest> commit(const std::optional<Digest>& expected = std::nullopt);
  int64_t size() const { return size_; }

 private:
  friend class BlobStore;
  BlobWriter(const BlobStore* store, std::string ingest_path, UniqueFd fd)
      : store_(store), path_(std::move(ingest_path)), fd_(std::move(fd)), hash_(new Sha256) {}
  const BlobStore* store_;
  std::string path_;
  UniqueFd fd_;
  std::unique_ptr<Sha256> hash_;
  int64_t size_ = 0;
  bool done_ = false;
};

class BlobStore {
 public:
  // root is DATA_ROOT/content; creates blobs/sha256 and ingest, and removes
  // leftover ingest files.
  static Result<std::unique_ptr<BlobStore>> open(const std::string& root);

  Result<BlobWriter> writer() const;
  // Convenience: write a whole blob (e.g. an image config).
  Result<Digest> put(std::string_view data) const;
  // Read a blob and verify its digest.
  Result<std::string> get(const Digest& d) const;
  bool has(const Digest& d) const;
  Status remove(const Digest& d) const;
  std::string path(const Digest& d) const;
  const std::string& root() const { return root_; }

 private:
  friend class BlobWriter;
  explicit BlobStore(std::string root) : root_(std::move(root)) {}
  std::string blobs_dir() const { return root_ + "/blobs/sha256"; }
  std::string ingest_dir() const { return root_ + "/ingest"; }
  std::string root_;
};

}  // namespace berth::content
