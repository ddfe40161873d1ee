#include "content/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"

namespace berth::content {

namespace {
Status fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sys_error("open " + dir);
  if (::fsync(fd.get()) != 0) return sys_error("fsync " + dir);
  return ok();
}
}  // namespace

BlobWriter::~BlobWriter() {
  if (!done_ && !path_.empty()) ::unlink(path_.c_str());
}

Status BlobWriter::write(std::string_view data) {
  if (done_) return make_error(Errc::internal, "blob writer already committed");
  BERTH_TRY_VOID(fs::write_all(fd_.get(), data));
  hash_->update(data);
  size_ += static_cast<int64_t>(data.size());
  return ok();
}

Result<Digest> BlobWriter::commit(const std::optional<Digest>& expected) {
  if (done_) return make_error(Errc::internal, "blob writer already committed");
  if (::fsync(fd_.get()) != 0) return sys_error("fsync " + path_);
  fd_.reset();
  auto d = BERTH_TRY(Digest::from_hex(hash_->hex()));
  if (expected && *expected != d)
    return make_error(Errc::invalid, "digest mismatch: expected " + expected->str() + ", got " +
                                         d.str());
  std::string final_path = store_->path(d);
  if (::rename(path_.c_str(), final_path.c_str()) != 0) return sys_error("rename " + final_path);
  done_ = true;
  BERTH_TRY_VOID(fsync_dir(store_->blobs_dir()));
  return d;
}

Result<std::unique_ptr<BlobStore>> BlobStore::open(const std::string& root) {
  std::unique_ptr<BlobStore> s(new BlobStore(root));
  BERTH_TRY_VOID(fs::mkdir_p(s->blobs_dir(), 0700));
  BERTH_TRY_VOID(fs::mkdir_p(s->ingest_dir(), 0700));
  // Anything in ingest/ is a write that never committed.
  for (const auto& name : fs::list_dir(s->ingest_dir()))
    BERTH_TRY_VOID(fs::remove_all(s->ingest_dir() + "/" + name));
  return s;
}

Result<BlobWriter> BlobStore::writer() const {
  std::string p = ingest_dir() + "/" + random_hex_id(12);
  UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return sys_error("create " + p);
  return BlobWriter(this, std::move(p), std::move(fd));
}

Result<Digest> BlobStore::put(std::string_view data) const {
  auto w = BERTH_TRY(writer());
  BERTH_TRY_VOID(w.write(data));
  return w.commit();
}

Result<std::string> BlobStore::get(const Digest& d) const {
  auto data = BERTH_TRY(fs::read_file(path(d)));
  if (sha256_hex(data) != d.hex())
    return make_error(Errc::internal, "blob " + d.str() + " is corrupt (digest mismatch)");
  return data;
}

bool BlobStore::has(const Digest& d) const { return fs::exists(path(d)); }

Status BlobStore::remove(const Digest& d) const {
  if (::unlink(path(d).c_str()) != 0 && errno != ENOENT) return sys_error("remove " + d.str());
  return ok();
}

std::string BlobStore::path(const Digest& d) const {
  return blobs_dir() + "/" + std::string(d.hex());
}

}  // namespace berth::content
