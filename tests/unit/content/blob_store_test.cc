#include "content/blob_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/fs.h"

using namespace berth;

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/img-blobs-XXXXXX";
    root_ = ::mkdtemp(t);
    auto s = content::BlobStore::open(root_);
    ASSERT_TRUE(s) << s.error().msg;
    store_ = std::move(*s);
  }
  void TearDown() override { (void)fs::remove_all(root_); }
  std::string root_;
  std::unique_ptr<content::BlobStore> store_;
};

TEST_F(BlobStoreTest, PutGetHasRemove) {
  auto d = store_->put("hello");
  ASSERT_TRUE(d) << d.error().msg;
  EXPECT_EQ(d->str(), "sha256:" + sha256_hex("hello"));
  EXPECT_TRUE(store_->has(*d));
  EXPECT_EQ(store_->path(*d), root_ + "/blobs/sha256/" + std::string(d->hex()));
  EXPECT_EQ(*store_->get(*d), "hello");
  EXPECT_TRUE(store_->put("hello"));  // idempotent
  EXPECT_TRUE(fs::list_dir(root_ + "/ingest").empty());
  ASSERT_TRUE(store_->remove(*d));
  EXPECT_FALSE(store_->has(*d));
  EXPECT_FALSE(store_->get(*d));
}

TEST_F(BlobStoreTest, StreamingWriterVerifiesAndCleansUp) {
  {
    auto w = store_->writer();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write("ab"));
    ASSERT_TRUE(w->write("c"));
    EXPECT_EQ(w->size(), 3);
    auto wrong = Digest::of("xyz");
    auto r = w->commit(wrong);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, Errc::invalid);
  }
  EXPECT_TRUE(fs::list_dir(root_ + "/ingest").empty());  // the failed ingest is gone
  EXPECT_TRUE(fs::list_dir(root_ + "/blobs/sha256").empty());
  {
    auto w = store_->writer();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write("abc"));
    auto r = w->commit(Digest::of("abc"));
    ASSERT_TRUE(r) << r.error().msg;
  }
  { auto abandoned = store_->writer(); ASSERT_TRUE(abandoned); ASSERT_TRUE(abandoned->write("half")); }
  EXPECT_TRUE(fs::list_dir(root_ + "/ingest").empty());
  EXPECT_EQ(*store_->get(Digest::of("abc")), "abc");
}

TEST_F(BlobStoreTest, CorruptBlobIsDetectedAndIngestSweptOnOpen) {
  auto d = *store_->put("data");
  ASSERT_TRUE(fs::write_file_atomic(store_->path(d), "tampered"));
  auto r = store_->get(d);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().msg.find("corrupt"), std::string::npos);
  ASSERT_TRUE(fs::write_file_atomic(root_ + "/ingest/leftover", "partial"));
  auto s = content::BlobStore::open(root_);
  ASSERT_TRUE(s);
  EXPECT_TRUE(fs::list_dir(root_ + "/ingest").empty());
}

namespace berth::content {
namespace {

TEST(BlobStoreResume, PartialSurvivesReopenAndContinues) {
  char tmpl[] = "/tmp/img-unit-XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  std::string root = std::string(tmpl) + "/content";
  const std::string data = "0123456789abcdefghij";
  const Digest d = Digest::of(data);
  {
    auto s = BlobStore::open(root);
    ASSERT_TRUE(s);
    auto w = (*s)->resume(d);
    ASSERT_TRUE(w && *w);
    EXPECT_EQ((*w)->size(), 0);
    ASSERT_TRUE((*w)->write(data.substr(0, 7)));
  }  // dropped without commit: the partial stays
  auto s = BlobStore::open(root);  // a restart sweeps ingest/ but keeps partials
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->partials().size(), 1u);
  auto w = (*s)->resume(d);
  ASSERT_TRUE(w && *w);
  EXPECT_EQ((*w)->size(), 7);
  ASSERT_TRUE((*w)->write(data.substr(7)));
  auto got = (*w)->commit(d);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, d);
  EXPECT_TRUE((*s)->partials().empty());
  EXPECT_EQ(*(*s)->get(d), data);
  // Committed meanwhile: resume says so.
  auto again = (*s)->resume(d);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  (void)fs::remove_all(tmpl);
}

TEST(BlobStoreResume, WrongBytesAreDroppedNotResumed) {
  char tmpl[] = "/tmp/img-unit-XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  auto s = BlobStore::open(std::string(tmpl) + "/content");
  ASSERT_TRUE(s);
  const Digest d = Digest::of("good");
  {
    auto w = (*s)->resume(d);
    ASSERT_TRUE(w && *w);
    ASSERT_TRUE((*w)->write("bad!"));
    auto r = (*w)->commit(d);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().msg.find("digest mismatch"), std::string::npos);
  }
  EXPECT_TRUE((*s)->partials().empty());
  EXPECT_FALSE((*s)->has(d));
  (void)fs::remove_all(tmpl);
}

}  // namespace
}  // namespace berth::content
