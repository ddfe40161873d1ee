#include "image/gzip_blob.h"

#ifdef BERTH_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include <vector>

namespace berth::image {

namespace {
constexpr size_t kOut = 1 << 18;
}

#ifdef BERTH_HAVE_ISAL
struct GzipBlob::Isal {
  isal_zstream zs{};
  std::vector<uint8_t> level_buf = std::vector<uint8_t>(ISAL_DEF_LVL1_DEFAULT);
};
#else
struct GzipBlob::Isal {};
#endif

GzipBlob::GzipBlob(content::BlobWriter w) : writer_(std::move(w)) {}

Status GzipBlob::isal_pump(const char* in, size_t len, bool last) {
#ifdef BERTH_HAVE_ISAL
  isal_zstream& z = isal_->zs;
  z.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(in));
  z.avail_in = static_cast<uint32_t>(len);
  z.end_of_stream = last ? 1 : 0;
  for (int guard = 0; guard < (1 << 24); ++guard) {
    z.next_out = reinterpret_cast<uint8_t*>(out_.get());
    z.avail_out = static_cast<uint32_t>(kOut);
    if (isal_deflate(&z) != COMP_OK) return make_error(Errc::internal, "igzip: deflate failed");
    size_t n = kOut - z.avail_out;
    if (n) BERTH_TRY_VOID(writer_.write(std::string_view(out_.get(), n)));
    if (last ? z.internal_state.state == ZSTATE_END : (z.avail_in == 0 && z.avail_out != 0)) return ok();
  }
  return make_error(Errc::internal, "igzip: no progress");
#else
  (void)in, (void)len, (void)last;
  return make_error(Errc::internal, "igzip not built in");
#endif
}

Result<std::unique_ptr<GzipBlob>> GzipBlob::open(const content::BlobStore& store, int level) {
  auto w = BERTH_TRY(store.writer());
  std::unique_ptr<GzipBlob> g(new GzipBlob(std::move(w)));
#ifdef BERTH_HAVE_ISAL
  if (level == Z_BEST_SPEED) {
    g->isal_ = std::make_unique<Isal>();
    isal_deflate_init(&g->isal_->zs);
    g->isal_->zs.level = 1;
    g->isal_->zs.level_buf = g->isal_->level_buf.data();
    g->isal_->zs.level_buf_size = static_cast<uint32_t>(g->isal_->level_buf.size());
    g->isal_->zs.gzip_flag = IGZIP_GZIP;
    return g;
  }
#endif
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
    if (isal_) {
      BERTH_TRY_VOID(isal_pump(data.data(), k, false));
      data.remove_prefix(k);
      continue;
    }
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs_.avail_in = static_cast<uInt>(k);
    BERTH_TRY_VOID(pump(Z_NO_FLUSH));
    data.remove_prefix(k);
  }
  return ok();
}

Result<Digest> GzipBlob::finish() {
  if (isal_) {
    BERTH_TRY_VOID(isal_pump(nullptr, 0, true));
    return writer_.commit();
  }
  zs_.next_in = nullptr;
  zs_.avail_in = 0;
  BERTH_TRY_VOID(pump(Z_FINISH));
  return writer_.commit();
}

}  // namespace berth::image
