// File rotation shared by the json-file and local drivers (moby's
// loggerutils.LogFile): PATH → PATH.1 → PATH.2 …, and with compress=true
// the rotated files are PATH.1.gz, PATH.2.gz …: the newest one is gzipped
// by a background thread after the rotation, with the time of its last
// entry in the gzip header's extra field ({"lastTime":"<RFC3339Nano>"}) so
// readers can skip whole files that end before `--since`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::logging {

// The rotated files that exist, oldest first: PATH.N (or PATH.N.gz) …
// PATH.1 (or PATH.1.gz). An uncompressed PATH.i wins over PATH.i.gz (it is
// the complete copy while its compression is in flight).
std::vector<std::string> rotated_log_files(const std::string& path);
inline bool is_gz(const std::string& p) { return p.size() > 3 && p.compare(p.size() - 3, 3, ".gz") == 0; }

// gzips `file` into `file`.gz (0640, extra {"lastTime":…} when last_ns > 0)
// and removes `file` once the .gz is complete; a failure removes the .gz.
Status gzip_log_file(const std::string& file, int64_t last_ns);
// The gzip header's lastTime (unix ns), or 0 when absent or unreadable.
int64_t gz_last_time(const std::string& gz_path);
// The inode of the file the .gz was made from (berth's "inode" key in the
// extra field), or 0 when absent: how a follower that still holds the
// uncompressed file open finds it among the rotated files.
uint64_t gz_source_inode(const std::string& gz_path);
// Decompresses a .gz into an anonymous memory file (memfd) readable from 0.
Result<UniqueFd> gunzip_to_memfd(const std::string& gz_path);

// The writing side: the open current file plus rotation. Docker's order:
// the oldest PATH.(max_file-1)[.gz] is removed, the others shift up by one,
// PATH becomes PATH.1 and a new PATH is created; with max_file 1 the file
// starts over empty. At most one compression runs: the next rotation waits
// for it, as Docker's rotateMu does.
class RotatingFile {
 public:
  struct Options {
    int64_t max_size = 0;  // 0 = never rotate
    int max_file = 1;
    bool compress = false;
    mode_t mode = 0640;
  };
  static Result<RotatingFile> open(std::string path, Options o);
  RotatingFile(RotatingFile&&) = default;
  RotatingFile& operator=(RotatingFile&&) = delete;
  ~RotatingFile() { wait_compression(); }

  int fd() const { return fd_.get(); }
  int64_t size() const { return size_; }
  const Options& options() const { return opts_; }
  bool due() const { return opts_.max_size > 0 && size_ >= opts_.max_size; }
  // Appends (one write(2) per call when it fits).
  Status append(std::string_view data);
  // Rotates now; `last_ns` is the time of the newest entry in the file.
  Status rotate(int64_t last_ns);
  void wait_compression() {
    if (compressor_.joinable()) compressor_.join();
  }

 private:
  RotatingFile() = default;
  std::string path_;
  Options opts_;
  UniqueFd fd_;
  int64_t size_ = 0;
  std::thread compressor_;
};

}  // namespace berth::logging
