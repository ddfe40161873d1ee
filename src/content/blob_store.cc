#include "content/blob_store.h"

#include <fcntl.h>
#include <sys/file.h>
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
  if (!done_ && !keep_ && !path_.empty()) ::unlink(path_.c_str());
}

Status BlobWriter::reset() {
  if (::ftruncate(fd_.get(), 0) != 0) return sys_error("truncate " + path_);
  if (::lseek(fd_.get(), 0, SEEK_SET) < 0) return sys_error("seek " + path_);
  hash_ = std::make_unique<Sha256>();
  size_ = 0;
  return ok();
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
  auto d = BERTH_TRY(Digest::from_hex(hash_->hex()));
  if (expected && *expected != d) {
    keep_ = false;  // wrong bytes are never resumed
    return make_error(Errc::invalid, "digest mismatch: expected " + expected->str() + ", got " +
                                         d.str());
  }
  std::string final_path = store_->path(d);
  // Rename while still holding the fd (and its lock): a concurrent resume
  // waiting for the lock then finds the partial gone.
  if (::rename(path_.c_str(), final_path.c_str()) != 0) return sys_error("rename " + final_path);
  fd_.reset();
  done_ = true;
  BERTH_TRY_VOID(fsync_dir(store_->blobs_dir()));
  return d;
}

Result<std::unique_ptr<BlobStore>> BlobStore::open(const std::string& root) {
  std::unique_ptr<BlobStore> s(new BlobStore(root));
  BERTH_TRY_VOID(fs::mkdir_p(s->blobs_dir(), 0700));
  BERTH_TRY_VOID(fs::mkdir_p(s->ingest_dir(), 0700));
  // Anything in ingest/ is a write that never committed.
  // Partial downloads (<hex>.partial) stay to be resumed.
  for (const auto& name : fs::list_dir(s->ingest_dir())) {
    if (name.size() == 64 + 8 && name.compare(64, 8, ".partial") == 0 && is_hex64(name.substr(0, 64))) continue;
    BERTH_TRY_VOID(fs::remove_all(s->ingest_dir() + "/" + name));
  }
  return s;
}

Result<std::optional<BlobWriter>> BlobStore::resume(const Digest& d) const {
  const std::string p = ingest_dir() + "/" + std::string(d.hex()) + ".partial";
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (has(d)) return std::optional<BlobWriter>();
    UniqueFd fd(::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return sys_error("open " + p);
    if (::flock(fd.get(), LOCK_EX) != 0) return sys_error("lock " + p);
    struct stat a {}, b {};
    if (::fstat(fd.get(), &a) != 0) return sys_error("stat " + p);
    if (::stat(p.c_str(), &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) continue;  // renamed meanwhile
    BlobWriter w(this, p, std::move(fd));
    w.keep_ = true;
    // Hash what is there and continue at its end.
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = ::pread(w.fd_.get(), buf.data(), buf.size(), w.size_);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error("read " + p);
      if (n == 0) break;
      w.hash_->update(buf.data(), static_cast<size_t>(n));
      w.size_ += n;
    }
    if (::lseek(w.fd_.get(), w.size_, SEEK_SET) < 0) return sys_error("seek " + p);
    return std::optional<BlobWriter>(std::move(w));
  }
  return make_error(Errc::internal, "cannot lock " + p);
}

void BlobStore::drop_partial(const Digest& d) const {
  ::unlink((ingest_dir() + "/" + std::string(d.hex()) + ".partial").c_str());
}

std::vector<std::string> BlobStore::partials() const {
  std::vector<std::string> out;
  for (const auto& name : fs::list_dir(ingest_dir()))
    if (name.size() > 8 && name.compare(name.size() - 8, 8, ".partial") == 0) out.push_back(name);
  return out;
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
