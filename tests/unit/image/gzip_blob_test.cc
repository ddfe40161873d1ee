#include "image/gzip_blob.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include "common/fs.h"
#include "common/id.h"

using namespace berth;

namespace {

// gunzip (every member) with zlib: what any registry client does.
std::string gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 32), Z_OK);
  std::string out;
  std::vector<char> buf(1 << 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int r = Z_OK;
  while (r != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf.data());
    z.avail_out = static_cast<uInt>(buf.size());
    r = inflate(&z, Z_NO_FLUSH);
    if (r != Z_OK && r != Z_STREAM_END) break;
    out.append(buf.data(), buf.size() - z.avail_out);
  }
  EXPECT_EQ(r, Z_STREAM_END);
  EXPECT_EQ(z.avail_in, 0u);  // nothing after the gzip trailer
  inflateEnd(&z);
  return out;
}

}  // namespace

TEST(GzipBlob, CompressedBlobIsAValidGzipOfTheStream) {
  char t[] = "/tmp/img-gz-XXXXXX";
  std::string root = ::mkdtemp(t);
  auto store = content::BlobStore::open(root);
  ASSERT_TRUE(store) << store.error().msg;
  // mixed content in uneven chunks: text, random-ish bytes, empty writes
  std::string data;
  uint32_t x = 12345;
  for (int i = 0; i < 3 << 20; ++i) {
    x = x * 1103515245 + 12345;
    data += (i / 65536) % 2 ? static_cast<char>(x >> 16) : static_cast<char>('a' + i % 7);
  }
  for (int level : {Z_BEST_SPEED, 6}) {
    auto gz = image::GzipBlob::open(**store, level);
    ASSERT_TRUE(gz) << gz.error().msg;
    size_t off = 0, step = 1;
    while (off < data.size()) {
      size_t k = std::min(step, data.size() - off);
      ASSERT_TRUE((*gz)->write(std::string_view(data).substr(off, k)));
      ASSERT_TRUE((*gz)->write(std::string_view()));
      off += k;
      step = step * 3 + 7;
    }
    auto d = (*gz)->finish();
    ASSERT_TRUE(d) << d.error().msg;
    auto blob = (*store)->get(*d);
    ASSERT_TRUE(blob);
    EXPECT_EQ(static_cast<int64_t>(blob->size()), (*gz)->size());
    EXPECT_LT(blob->size(), data.size());  // the text halves compress
    EXPECT_EQ(gunzip(*blob), data) << "level " << level;
  }
  // an empty stream is still a valid gzip of nothing
  auto empty = image::GzipBlob::open(**store);
  ASSERT_TRUE(empty);
  auto ed = (*empty)->finish();
  ASSERT_TRUE(ed);
  EXPECT_EQ(gunzip(*(*store)->get(*ed)), "");
  (void)fs::remove_all(root);
}
