// Docker's `local` log driver file format (moby daemon/logger/local): each
// entry is a protobuf LogEntry
//   1 source (string)  2 time_nano (int64)  3 line (bytes, without '\n')
//   4 partial (bool)   5 partial_log_metadata {1 last, 2 id, 3 ordinal}
// (proto3: default values are not written; unknown fields are skipped on
// read) framed by its length as a big-endian uint32 before AND after it, so
// a reader can walk the file backwards for --tail. A line longer than 16 KiB
// is cut into partial entries sharing an id and the first piece's time,
// ordinals from 1, the last piece marked last; reading adds the '\n' back to
// every entry that is not a non-last partial piece. Defaults: max-size
// 20 MiB, max-file 5, compress true.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "logging/json_file.h"
#include "logging/log_file.h"

namespace berth::logging {

struct LocalEntry {
  std::string source;  // "stdout" | "stderr"
  int64_t time_nano = 0;
  std::string line;
  bool partial = false;
  // partial_log_metadata (present iff has_meta)
  bool has_meta = false;
  bool last = false;
  std::string id;
  int32_t ordinal = 0;
};

// The protobuf bytes of one entry (no framing).
void encode_local_entry(std::string& out, const LocalEntry& e);
// Length-framed: [len BE32][protobuf][len BE32].
void append_local_record(std::string& out, const LocalEntry& e);
Result<LocalEntry> decode_local_entry(std::string_view proto);
// A decoded entry as `docker logs` returns it (line + '\n' unless a
// non-last partial piece).
LogEntry local_to_log_entry(const LocalEntry& e);

class LocalFileWriter final : public LogDriver {
 public:
  struct Options {
    int64_t max_size = 20 * 1024 * 1024;
    int max_file = 5;
    bool compress = true;
    size_t flush_threshold = 128 * 1024;
  };
  static Result<std::unique_ptr<LocalFileWriter>> open(const std::string& path, Options o);
  Status write(Stream s, std::string_view data, int64_t now_ns) override;
  Status flush() override;
  Status close(int64_t now_ns) override;

 private:
  LocalFileWriter(RotatingFile f, Options o) : file_(std::move(f)), opts_(o) {}
  void emit(Stream s, std::string_view line, int64_t t, int kind);
  RotatingFile file_;
  Options opts_;
  std::string out_;  // encoded records not yet written
  int64_t last_ns_ = 0;
  struct Pending {
    std::string bytes;   // after the last '\n'
    std::string id;      // partial id while a long line is being cut
    int32_t ordinal = 0;
    int64_t first_ns = 0;
  } pending_[3];
};

}  // namespace berth::logging
