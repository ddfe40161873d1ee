#include "image/gzip_blob.h"

namespace berth::image {

namespace {
constexpr size_t kOut = 1 << 18;
}

Result<std::unique_ptr<GzipBlob>> GzipBlob::open(const content::BlobStore& store, int level) {
  auto w = BERTH_TRY(store.writer());
  std::unique_ptr<GzipBlob> g(new GzipBlob(std::move(w)));
  // windowBits 15 + 16: a gzip header and trailer.
  if (deflateInit2(&g->zs_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return make_error(Errc::internal, "zlib: deflateInit2 failed");
  g->init_ = true;
  return g;
}

GzipBlob::~GzipBlob() {
  if (init_) deflateEnd(&zs_);
}

Status GzipBlob::pump(int flush) {
  for (;;) {
    zs_.next_out = reinterpret_cast<Bytef*>(out_.get());
    zs_.avail_out = static_cast<uInt>(kOut);
    int r = deflate(&zs_, flush);
    if (r == Z_STREAM_ERROR) return make_error(Errc::internal, "zlib: deflate failed");
    size_t n = kOut - zs_.avail_out;
    if (n) BERTH_TRY_VOID(writer_.write(std::string_view(out_.get(), n)));
    if (flush == Z_FINISH ? r == Z_STREAM_END : zs_.avail_out != 0) return ok();
  }
}

Status GzipBlob::write(std::string_view data) {
  while (!data.empty()) {
    size_t k = std::min<size_t>(data.size(), 1u << 30);
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs_.avail_in = static_cast<uInt>(k);
    BERTH_TRY_VOID(pump(Z_NO_FLUSH));
    data.remove_prefix(k);
  }
  return ok();
}

Result<Digest> GzipBlob::finish() {
  zs_.next_in = nullptr;
  zs_.avail_in = 0;
  BERTH_TRY_VOID(pump(Z_FINISH));
  return writer_.commit();
}

}  // namespace berth::image
