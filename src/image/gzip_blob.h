// Gzip-compress a stream into the content store (the blob push uploads for
// a layer that was imported, loaded or committed rather than pulled).
#pragma once

#include <zlib.h>

#include <memory>
#include <string_view>

#include "common/id.h"
#include "common/result.h"
#include "content/blob_store.h"

namespace berth::image {

class GzipBlob {
 public:
  static Result<std::unique_ptr<GzipBlob>> open(const content::BlobStore& store, int level = Z_BEST_SPEED);
  ~GzipBlob();
  Status write(std::string_view data);
  // Flush, commit the blob; returns its digest (size in size()).
  Result<Digest> finish();
  int64_t size() const { return writer_.size(); }

 private:
  explicit GzipBlob(content::BlobWriter w) : writer_(std::move(w)) {}
  Status pump(int flush);
  content::BlobWriter writer_;
  z_stream zs_{};
  bool init_ = false;
  std::unique_ptr<char[]> out_ = std::make_unique<char[]>(1 << 18);
};

}  // namespace berth::image
