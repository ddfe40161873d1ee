// Docker's json-file log driver: writer (used by berth-shim) and reader
// (used by berthd for GET /containers/{id}/logs, including follow mode).
//
// File format, one JSON object per line, byte-compatible with dockerd:
//   {"log":"hello\n","stream":"stdout","time":"2026-11-29T19:48:21.123456789Z"}
// Strings are escaped as moby's jsonlog does (Go rules: <, >, & become
// \u003c \u003e \u0026, control characters \u00XX except \n and \r,
// invalid UTF-8 bytes \ufffd, U+2028/U+2029 escaped); time is RFC3339Nano.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "logging/log_file.h"

namespace berth::logging {

// Stream ids are the stdcopy header values.
enum class Stream : uint8_t { in = 0, out = 1, err = 2 };
std::string_view stream_name(Stream s);  // "stdin" | "stdout" | "stderr"

// A line is cut after this many bytes without '\n' (Docker's copier size).
inline constexpr size_t kMaxLineBytes = 16 * 1024;

// Appends `s` as a JSON string literal (with quotes), escaped as above.
void append_json_string(std::string& out, std::string_view s);
// Appends one complete json-file line (with the trailing '\n').
void append_json_log_line(std::string& out, Stream s, std::string_view payload,
                          int64_t time_ns);
// "2026-11-29T19:48:21.123456789Z": always 9 fraction digits (Docker's
// RFC3339NanoFixed, used for `logs -t`).
std::string rfc3339_nano_fixed(int64_t unix_nano);

// A log driver: receives raw container output chunks as they are read.
class LogDriver {
 public:
  virtual ~LogDriver() = default;
  // `data` is an arbitrary chunk (not necessarily whole lines); `now_ns`
  // stamps the entries it completes.
  virtual Status write(Stream s, std::string_view data, int64_t now_ns) = 0;
  // Push buffered bytes to the kernel (call when the event loop goes idle,
  // before answering `wait`, and at exit).
  virtual Status flush() = 0;
  // Emit pending partial lines as entries (at container exit), then flush.
  virtual Status close(int64_t now_ns) = 0;
  // Give buffer memory back to the kernel (the shim calls it once output
  // has been quiet for a while; never while it streams).
  virtual void trim() {}
};

// Writes the json-file format. Complete entries are accumulated in memory
// and written with one write(2) once `flush_threshold` bytes are pending or
// when flush() is called; no per-line syscalls.
class JsonFileWriter final : public LogDriver {
 public:
  struct Options {
    size_t flush_threshold = 128 * 1024;
    mode_t mode = 0640;
    // Rotation as Docker's max-size/max-file: once the file reaches
    // max_size bytes it becomes PATH.1 (PATH.1 → PATH.2 …, keeping
    // max_file - 1 old files; max_file 1 truncates). 0 = never.
    int64_t max_size = 0;
    int max_file = 1;
    // compress=true: rotated files are gzipped (PATH.1.gz …), see log_file.h.
    bool compress = false;
    // Docker's "attrs" (labels/env/tag options): a JSON object written
    // between "stream" and "time" on every line; empty = none.
    std::string attrs_json;
  };
  // Opens (creating or appending to) `path`.
  static Result<std::unique_ptr<JsonFileWriter>> open(const std::string& path, Options opts);
  static Result<std::unique_ptr<JsonFileWriter>> open(const std::string& path) {
    return open(path, Options{});
  }

  ~JsonFileWriter() override;
  JsonFileWriter(const JsonFileWriter&) = delete;
  JsonFileWriter& operator=(const JsonFileWriter&) = delete;
  Status write(Stream s, std::string_view data, int64_t now_ns) override;
  Status flush() override;
  Status close(int64_t now_ns) override;
  void trim() override;
  size_t pending_bytes() const { return out_len_; }
  // The encode buffer's high-water mark since its pages were last given
  // back: bounded by flush_threshold plus one encoded line, whatever the
  // size of the chunks written.
  size_t buffer_bytes() const { return high_water_; }
  // The encode buffer's pages resident now (mincore).
  size_t resident_bytes() const;
  // What trim() keeps resident of the buffer; the rest is given back.
  static constexpr size_t kKeepResident = 16 * 1024;

 private:
  JsonFileWriter(RotatingFile file, Options o) : file_(std::move(file)), opts_(std::move(o)) {}
  Status maybe_flush();
  Status write_out();  // the buffered entries to the file (flush() without the page release)
  void append_line(Stream s, std::string_view payload, int64_t time_ns);
  RotatingFile file_;
  Options opts_;
  // Encode buffer: one anonymous mapping of a fixed capacity (the flush
  // threshold plus the largest encoded line), so it never grows through a
  // series of reallocations that leave freed heap resident; trim() gives
  // its pages back (MADV_DONTNEED) past kKeepResident: after a burst the
  // shim's RSS returns to its idle size (DESIGN.md: <= 1 MiB per container).
  char* out_ = nullptr;
  size_t out_cap_ = 0;
  size_t out_len_ = 0;       // [0, out_len_) holds encoded entries not yet written
  size_t high_water_ = 0;
  int64_t cached_time_ns_ = 0;
  int64_t cached_sec_ = 0;  // the second whose "YYYY-MM-DDTHH:MM:SS" is in cached_time_
  size_t cached_time_len_ = 0;
  char cached_time_[48];
  std::string partial_[3];  // per-stream bytes after the last '\n'
};

// ---------------------------------------------------------------- reading

struct LogEntry {
  Stream stream = Stream::out;
  int64_t time_ns = 0;   // unix nanoseconds
  std::string payload;   // decoded "log" bytes, including its '\n' if any
  // Docker's "attrs" of the line (labels/env/tag log options), as written.
  std::vector<std::pair<std::string, std::string>> attrs;
};

// Parses one json-file line (without or with the trailing '\n').
Result<LogEntry> parse_json_log_line(std::string_view line);

struct ReadOptions {
  bool want_stdout = true;
  bool want_stderr = true;
  int64_t tail = -1;      // last N lines of the file; -1 = all; 0 = none
  int64_t since_ns = 0;   // keep entries with time >= since (0 = no bound)
  int64_t until_ns = 0;   // stop at the first entry with time > until (0 = none)
};

// Called per entry; return false to stop reading.
using EntrySink = std::function<bool(const LogEntry&)>;

// The on-disk format of a readable driver: json-file lines or the local
// driver's length-framed protobuf records (local_file.h).
enum class LogFormat { json, local };

// Reads a json-file (or local) log, with its rotated files. Typical use in berthd:
//
//   auto r = BERTH_TRY(JsonFileReader::open(path));
//   BERTH_TRY_VOID(r.read_existing(opts, sink));     // tail/since/until
//   if (follow) {                                     // logs -f
//     JsonFileFollower f(std::move(r), opts);
//     // on container exit (from the shim's wait): f.notify_exited();
//     // on client disconnect: f.cancel();
//     BERTH_TRY_VOID(f.run(sink));                    // blocks; one thread per follower
//   }
//
// Event-loop users can instead poll watch_fd() for readability (inotify on
// the file) and call read_new() each time, then drain_inotify().
class JsonFileReader {
 public:
  // A missing file is not an error: it reads as empty until it appears.
  static Result<JsonFileReader> open(const std::string& path, LogFormat format = LogFormat::json);

  // Emits existing entries per `opts`, then leaves the read position at the
  // end of the last complete line that was present.
  Status read_existing(const ReadOptions& opts, const EntrySink& sink);
  // Emits complete lines appended since the last call (since/until/stream
  // filters apply, tail does not). Returns the number of entries emitted;
  // sets *stopped when the sink returned false or `until` was passed.
  Result<size_t> read_new(const ReadOptions& opts, const EntrySink& sink, bool* stopped);
  // inotify fd (IN_MODIFY on the file), readable when data was appended;
  // -1 if inotify is unavailable (then poll read_new on a timer).
  int watch_fd() const { return inotify_.get(); }
  // Consume pending inotify events after watch_fd() became readable.
  void drain_inotify();
  int64_t offset() const { return offset_; }
  // Bytes this reader read from its file (the current one; rotated files
  // are read through readers of their own): shows that --since bisects.
  int64_t bytes_read() const { return bytes_read_; }

 private:
  JsonFileReader() = default;
  static JsonFileReader over_fd(UniqueFd fd, LogFormat format);
  Result<std::optional<JsonFileReader>> open_rotated(const std::string& file, const ReadOptions& opts) const;
  Result<bool> emit_local(int64_t start, const ReadOptions& opts, const EntrySink& sink, size_t* emitted);
  Status ensure_open();
  // After the file we read was rotated away (its inode `old_ino`): the
  // rotated files newer than it, oldest first, and the current file.
  struct AfterRotation {
    std::vector<JsonFileReader> rotated;
    UniqueFd current;
  };
  Result<AfterRotation> files_after(uint64_t old_ino, const ReadOptions& opts);
  void watch_current();
  Status read_existing_one(const ReadOptions& opts, const EntrySink& sink);
  Result<bool> emit_from(int64_t start, const ReadOptions& opts, const EntrySink& sink,
                         size_t* emitted);
  std::string path_;  // empty: a rotated or decompressed file (fd_ only)
  LogFormat format_ = LogFormat::json;
  UniqueFd fd_;
  UniqueFd inotify_;
  int64_t offset_ = 0;
  int64_t bytes_read_ = 0;
};

// Blocking `logs -f` helper. run() emits new entries as they are appended,
// and returns when the sink returns false, cancel() was called, `until` was
// passed, or notify_exited() was called and the file has been drained.
// notify_exited() and cancel() are thread-safe (they wake run() via eventfd).
class JsonFileFollower {
 public:
  JsonFileFollower(JsonFileReader reader, ReadOptions opts);
  Status run(const EntrySink& sink);
  void notify_exited();
  void cancel();

 private:
  JsonFileReader reader_;
  ReadOptions opts_;
  UniqueFd wake_;  // eventfd
  std::atomic<bool> exited_{false};
  std::atomic<bool> cancelled_{false};
};

// ------------------------------------------------------------ formatting

// Appends Docker's stdcopy frame: [stream,0,0,0,len32 BE] + payload.
void append_stdcopy_frame(std::string& out, Stream s, std::string_view payload);
// Appends an entry as `docker logs` sends it: a stdcopy frame unless `raw`
// (a tty container), optionally prefixed with "<RFC3339NanoFixed> ".
// With `details`, the line is prefixed as dockerd's `logs --details`:
// the attrs sorted by key, "k=v" query-escaped and joined by ',', then ' '.
void append_log_entry(std::string& out, const LogEntry& e, bool raw, bool timestamps, bool details = false);

}  // namespace berth::logging
