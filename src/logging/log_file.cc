#include "logging/log_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>

#include "common/fs.h"
#include "common/time.h"

namespace berth::logging {

namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

Status rename_if_exists(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) return sys_error("rotate log " + from);
  return ok();
}

}  // namespace

std::vector<std::string> rotated_log_files(const std::string& path) {
  std::vector<std::string> out;
  for (int i = 1; i < 10000; ++i) {
    std::string p = path + "." + std::to_string(i);
    if (exists(p)) {
      out.insert(out.begin(), p);
    } else if (exists(p + ".gz")) {
      out.insert(out.begin(), p + ".gz");
    } else {
      break;
    }
  }
  return out;
}

Status gzip_log_file(const std::string& file, int64_t last_ns) {
  UniqueFd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) {
    if (errno == ENOENT) return ok();  // rotated away meanwhile
    return sys_error("open " + file);
  }
  const std::string gz = file + ".gz";
  UniqueFd out(::open(gz.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!out) return sys_error("create " + gz);
  bool done = false;
  auto cleanup = [&] {
    if (!done) ::unlink(gz.c_str());
  };
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    cleanup();
    return make_error(Errc::internal, "deflateInit failed");
  }
  // {"lastTime":…} as Go's, plus the source file's inode: a reader still
  // holding the uncompressed file open finds where it is in the rotation
  // (gz_source_inode). Go's reader ignores the extra key.
  struct stat sst {};
  std::string extra = "{";
  if (last_ns > 0) {
    char ts[48];
    extra += "\"lastTime\":\"" + std::string(ts, timeutil::format_rfc3339(ts, last_ns, false)) + "\"";
  }
  if (::fstat(in.get(), &sst) == 0) {
    if (extra.size() > 1) extra += ",";
    extra += "\"inode\":" + std::to_string(static_cast<uint64_t>(sst.st_ino));
  }
  extra += "}";
  if (extra == "{}") extra.clear();
  gz_header h{};
  h.os = 255;  // unknown, as Go's gzip writer
  if (!extra.empty()) {
    h.extra = reinterpret_cast<Bytef*>(extra.data());
    h.extra_len = static_cast<uInt>(extra.size());
  }
  deflateSetHeader(&z, &h);
  std::vector<char> ib(128 * 1024), ob(128 * 1024);
  Status st = ok();
  for (bool eof = false; !eof && st;) {
    ssize_t n = ::read(in.get(), ib.data(), ib.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = sys_error("read " + file);
      break;
    }
    eof = n == 0;
    z.next_in = reinterpret_cast<Bytef*>(ib.data());
    z.avail_in = static_cast<uInt>(n);
    do {
      z.next_out = reinterpret_cast<Bytef*>(ob.data());
      z.avail_out = static_cast<uInt>(ob.size());
      int rc = deflate(&z, eof ? Z_FINISH : Z_NO_FLUSH);
      if (rc == Z_STREAM_ERROR) {
        st = make_error(Errc::internal, "deflate failed");
        break;
      }
      st = fs::write_all(out.get(), std::string_view(ob.data(), ob.size() - z.avail_out));
    } while (st && z.avail_out == 0);
  }
  deflateEnd(&z);
  if (!st) {
    cleanup();
    return st;
  }
  done = true;
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) return sys_error("remove " + file);
  return ok();
}

namespace {
// The gzip header's FEXTRA bytes; empty when absent or unreadable.
std::string gz_extra(const std::string& gz_path) {
  UniqueFd fd(::open(gz_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  unsigned char hdr[12];
  if (::pread(fd.get(), hdr, sizeof hdr, 0) != static_cast<ssize_t>(sizeof hdr)) return {};
  if (hdr[0] != 0x1f || hdr[1] != 0x8b || !(hdr[3] & 0x04)) return {};  // no FEXTRA
  size_t xlen = hdr[10] | (static_cast<size_t>(hdr[11]) << 8);
  std::string extra(xlen, '\0');
  if (::pread(fd.get(), extra.data(), xlen, 12) != static_cast<ssize_t>(xlen)) return {};
  return extra;
}
}  // namespace

uint64_t gz_source_inode(const std::string& gz_path) {
  std::string extra = gz_extra(gz_path);
  const std::string key = "\"inode\":";
  auto at = extra.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(extra.c_str() + at + key.size(), nullptr, 10);
}

int64_t gz_last_time(const std::string& gz_path) {
  std::string extra = gz_extra(gz_path);
  const std::string key = "\"lastTime\":\"";
  auto at = extra.find(key);
  if (at == std::string::npos) return 0;
  auto end = extra.find('"', at + key.size());
  if (end == std::string::npos) return 0;
  int64_t ns = 0;
  if (!timeutil::parse_rfc3339_to(std::string_view(extra).substr(at + key.size(), end - at - key.size()), &ns))
    return 0;
  return ns;
}

Result<UniqueFd> gunzip_to_memfd(const std::string& gz_path) {
  UniqueFd in(::open(gz_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return sys_error("open " + gz_path);
  UniqueFd mem(::memfd_create("berth-log", MFD_CLOEXEC));
  if (!mem) return sys_error("memfd_create");
  gzFile g = gzdopen(::dup(in.get()), "rb");
  if (!g) return make_error(Errc::internal, "gzdopen " + gz_path);
  std::vector<char> buf(256 * 1024);
  Status st = ok();
  for (;;) {
    int n = gzread(g, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int e = 0;
      st = make_error(Errc::internal, "decompress " + gz_path + ": " + gzerror(g, &e));
      break;
    }
    if (n == 0) break;
    st = fs::write_all(mem.get(), std::string_view(buf.data(), static_cast<size_t>(n)));
    if (!st) break;
  }
  gzclose(g);
  if (!st) return std::move(st).error();
  return mem;
}

Result<RotatingFile> RotatingFile::open(std::string path, Options o) {
  RotatingFile f;
  f.path_ = std::move(path);
  f.opts_ = o;
  f.fd_.reset(::open(f.path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, o.mode));
  if (!f.fd_) return sys_error("open log file " + f.path_);
  struct stat st {};
  f.size_ = ::fstat(f.fd_.get(), &st) == 0 ? st.st_size : 0;
  return f;
}

Status RotatingFile::append(std::string_view data) {
  BERTH_TRY_VOID(fs::write_all(fd_.get(), data));
  size_ += static_cast<int64_t>(data.size());
  return ok();
}

Status RotatingFile::rotate(int64_t last_ns) {
  wait_compression();
  if (opts_.max_file <= 1) {
    if (::ftruncate(fd_.get(), 0) != 0) return sys_error("truncate log " + path_);
    size_ = 0;
    return ok();
  }
  const bool gz = opts_.compress;
  const std::string ext = gz ? ".gz" : "";
  // Drop the oldest, shift the others up: PATH.i → PATH.(i+1).
  std::string oldest = path_ + "." + std::to_string(opts_.max_file - 1) + ext;
  if (::unlink(oldest.c_str()) != 0 && errno != ENOENT) return sys_error("remove " + oldest);
  for (int i = opts_.max_file - 1; i > 1; --i)
    BERTH_TRY_VOID(rename_if_exists(path_ + "." + std::to_string(i - 1) + ext,
                                    path_ + "." + std::to_string(i) + ext));
  BERTH_TRY_VOID(rename_if_exists(path_, path_ + ".1"));
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, opts_.mode));
  if (!fd) return sys_error("open log file " + path_);
  fd_ = std::move(fd);
  size_ = 0;
  if (gz) {
    std::string one = path_ + ".1";
    compressor_ = std::thread([one, last_ns] { (void)gzip_log_file(one, last_ns); });
  }
  return ok();
}

}  // namespace berth::logging
