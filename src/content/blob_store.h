// Content-addressed blob store: DATA_ROOT/content/blobs/sha256/<hex>.
//
// A blob is written into content/ingest/, hashed while it streams, fsynced,
// renamed into blobs/sha256/<hex> and the directory fsynced; a reader never
// sees a partial blob. Leftover ingest files (a crash mid-write) are swept
// by open(), except <hex>.partial files: resumable downloads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
        hash_(std::move(o.hash_)), size_(o.size_), done_(std::exchange(o.done_, true)), keep_(o.keep_) {}
  BlobWriter& operator=(BlobWriter&&) = delete;
  ~BlobWriter();
  Status write(std::string_view data);
  // Fsync, check the digest (when `expected` is given), rename into place,
  // fsync the blob directory. Committing a blob that already exists is fine.
  Result<Digest> commit(const std::optional<Digest>& expected = std::nullopt);
  int64_t size() const { return size_; }
  // A resumable writer (BlobStore::resume) keeps its partial file when
  // dropped, so the next attempt continues where this one stopped.
  bool resumable() const { return keep_; }
  // Forget the partial bytes (they hashed wrong): the file is truncated.
  Status reset();
  // Delete the partial file when dropped (its bytes are not worth resuming).
  void abandon() { keep_ = false; }
  const std::string& ingest_path() const { return path_; }

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
  bool keep_ = false;
};

class BlobStore {
 public:
  // root is DATA_ROOT/content; creates blobs/sha256 and ingest, and removes
  // leftover ingest files.
  static Result<std::unique_ptr<BlobStore>> open(const std::string& root);

  Result<BlobWriter> writer() const;
  // A resumable ingest for a blob whose digest is known (a download):
  // DATA_ROOT/content/ingest/<hex>.partial, locked (flock) against a
  // concurrent download of the same blob, hashed over the bytes already
  // there; writer.size() is where the download continues. nullopt when the
  // blob got committed meanwhile (by a concurrent download).
  Result<std::optional<BlobWriter>> resume(const Digest& d) const;
  // Remove the partial download of d (its bytes proved bad).
  void drop_partial(const Digest& d) const;
  // Sizes of partial downloads (for tests and the store check).
  std::vector<std::string> partials() const;
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
