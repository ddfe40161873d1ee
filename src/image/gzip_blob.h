// Gzip-compress a stream into the content store (the blob push uploads for
// a layer that was imported, loaded or committed rather than pulled).
// ISA-L's deflate when available (load/commit/import were bound by zlib's
// compressor: ~65% of a docker load's CPU), else zlib.
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
  explicit GzipBlob(content::BlobWriter w);
  Status pump(int flush);
  content::BlobWriter writer_;
  z_stream zs_{};
  bool init_ = false;
  // ISA-L's igzip (level 1, several times zlib's speed) when built with it;
  // opaque here so that users of this header need no ISA-L include path.
  struct Isal;
  std::unique_ptr<Isal> isal_;
  Status isal_pump(const char* in, size_t len, bool last);
  std::unique_ptr<char[]> out_ = std::make_unique<char[]>(1 << 18);
};

}  // namespace berth::image
