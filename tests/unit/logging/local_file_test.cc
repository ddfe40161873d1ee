// The local driver's protobuf records (golden bytes), its writer and reader
// (partial lines, --tail walking backwards), and rotation with compression
// for both local and json-file (PATH.N.gz with lastTime in the gzip header).
#include "logging/local_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/fs.h"
#include "logging/drivers.h"
#include "logging/log_file.h"

namespace berth::logging {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/logs-localtest-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)fs::remove_all(path_); }
  std::string file(const std::string& n) const { return path_ + "/" + n; }

 private:
  std::string path_;
};

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

std::vector<LogEntry> read_all(const std::string& path, LogFormat f, ReadOptions o = {}) {
  std::vector<LogEntry> got;
  auto r = JsonFileReader::open(path, f);
  EXPECT_TRUE(r);
  if (!r) return got;
  EXPECT_TRUE(r->read_existing(o, [&](const LogEntry& e) {
    got.push_back(e);
    return true;
  }));
  return got;
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// Golden bytes cross-checked with python3-protobuf (a LogEntry message
// built from the field numbers above, SerializeToString).
TEST(LocalEntry, GoldenEncoding) {
  LocalEntry e;
  e.source = "stdout";
  e.time_nano = 1;
  e.line = "hi";
  std::string out;
  encode_local_entry(out, e);
  EXPECT_EQ(hex(out), "0a067374646f7574" "1001" "1a026869");

  LocalEntry p;
  p.source = "stderr";
  p.time_nano = 1700000000000000000;
  p.line = "ab";
  p.partial = true;
  p.has_meta = true;
  p.last = true;
  p.id = "x";
  p.ordinal = 2;
  out.clear();
  encode_local_entry(out, p);
  EXPECT_EQ(hex(out), "0a06737464657272" "108080a8b1e39fe7cb17" "1a026162" "2001" "2a07" "0801" "120178" "1802");

  // proto3 defaults are not written: an empty line with time 0 is just the source.
  LocalEntry z;
  z.source = "stdout";
  out.clear();
  encode_local_entry(out, z);
  EXPECT_EQ(hex(out), "0a067374646f7574");
}

TEST(LocalEntry, FramedByLengthBeforeAndAfter) {
  LocalEntry e;
  e.source = "stdout";
  e.time_nano = 1;
  e.line = "hi";
  std::string out;
  append_local_record(out, e);
  EXPECT_EQ(hex(out), "0000000e" "0a067374646f75741001" "1a026869" "0000000e");
}

TEST(LocalEntry, DecodesAndSkipsUnknownFields) {
  // Field 6 (newer moby's attrs: {key, value}) and an unknown fixed64 are skipped.
  std::string b = unhex("0a06737464657272108080a8b1e39fe7cb171a02616220012a0708011201781802"
                         "32060a016b120176"
                         "390102030405060708");
  auto d = decode_local_entry(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->source, "stderr");
  EXPECT_EQ(d->time_nano, 1700000000000000000);
  EXPECT_EQ(d->line, "ab");
  EXPECT_TRUE(d->partial);
  EXPECT_TRUE(d->has_meta);
  EXPECT_TRUE(d->last);
  EXPECT_EQ(d->id, "x");
  EXPECT_EQ(d->ordinal, 2);
  // A truncated record is an error, not garbage.
  EXPECT_FALSE(decode_local_entry(b.substr(0, 12)));
  // The '\n' comes back on whole lines and last pieces only.
  EXPECT_EQ(local_to_log_entry(*d).payload, "ab\n");
  EXPECT_EQ(local_to_log_entry(*d).stream, Stream::err);
  d->last = false;
  EXPECT_EQ(local_to_log_entry(*d).payload, "ab");
}

TEST(LocalFileWriter, WritesFramedProtobufAndReadsBack) {
  TempDir t;
  std::string path = t.file("container.log");
  LocalFileWriter::Options o;
  {
    auto w = LocalFileWriter::open(path, o);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write(Stream::out, "one\ntw", 1000));
    ASSERT_TRUE((*w)->write(Stream::err, "err\n", 2000));
    ASSERT_TRUE((*w)->write(Stream::out, "o\n", 3000));
    ASSERT_TRUE((*w)->close(4000));
  }
  auto raw = fs::read_file(path);
  ASSERT_TRUE(raw);
  // The first record on disk, byte for byte.
  EXPECT_EQ(hex(raw->substr(0, 24)), "00000010" "0a067374646f7574" "10e807" "1a036f6e65" "00000010");
  auto got = read_all(path, LogFormat::local);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].payload, "one\n");
  EXPECT_EQ(got[0].time_ns, 1000);
  EXPECT_EQ(got[1].payload, "err\n");
  EXPECT_EQ(got[1].stream, Stream::err);
  EXPECT_EQ(got[2].payload, "two\n");
  EXPECT_EQ(got[2].time_ns, 3000);
  ReadOptions tail;
  tail.tail = 2;
  got = read_all(path, LogFormat::local, tail);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, "err\n");
  ReadOptions errs;
  errs.want_stdout = false;
  got = read_all(path, LogFormat::local, errs);
  ASSERT_EQ(got.size(), 1u);
  ReadOptions since;
  since.since_ns = 2500;
  got = read_all(path, LogFormat::local, since);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "two\n");
}

TEST(LocalFileWriter, LongLinesBecomePartialPiecesWithOneId) {
  TempDir t;
  std::string path = t.file("container.log");
  std::string big(40 * 1024, 'x');
  {
    auto w = LocalFileWriter::open(path, {});
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write(Stream::out, big.substr(0, 20000), 1000));
    ASSERT_TRUE((*w)->write(Stream::out, big.substr(20000) + "\nshort\n", 2000));
    ASSERT_TRUE((*w)->close(3000));
  }
  auto raw = *fs::read_file(path);
  std::vector<LocalEntry> recs;
  for (size_t i = 0; i + 8 <= raw.size();) {
    uint32_t n = (uint32_t(uint8_t(raw[i])) << 24) | (uint32_t(uint8_t(raw[i + 1])) << 16) |
                 (uint32_t(uint8_t(raw[i + 2])) << 8) | uint8_t(raw[i + 3]);
    recs.push_back(*decode_local_entry(std::string_view(raw).substr(i + 4, n)));
    i += 8 + n;
  }
  ASSERT_EQ(recs.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(recs[i].partial);
    EXPECT_EQ(recs[i].ordinal, i + 1);
    EXPECT_EQ(recs[i].id, recs[0].id);
    EXPECT_EQ(recs[i].time_nano, 1000);  // the first piece's time
    EXPECT_EQ(recs[i].last, i == 2);
  }
  EXPECT_EQ(recs[0].id.size(), 64u);
  EXPECT_EQ(recs[0].line.size(), kMaxLineBytes);
  EXPECT_FALSE(recs[3].partial);
  EXPECT_FALSE(recs[3].has_meta);
  auto got = read_all(path, LogFormat::local);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].payload + got[1].payload + got[2].payload, big + "\n");
  EXPECT_EQ(got[3].payload, "short\n");
}

TEST(LocalFileWriter, RotatesCompressesAndReadsEveryFile) {
  TempDir t;
  std::string path = t.file("container.log");
  LocalFileWriter::Options o;
  o.max_size = 2048;
  o.max_file = 3;
  o.flush_threshold = 1;
  {
    auto w = LocalFileWriter::open(path, o);
    ASSERT_TRUE(w);
    for (int i = 0; i < 400; ++i)
      ASSERT_TRUE((*w)->write(Stream::out, "line-" + std::to_string(i) + "\n", 1000000 + i));
    ASSERT_TRUE((*w)->close(2000000));
  }
  // Docker's names: the newest rotated file is gzipped too, once the writer is done.
  EXPECT_TRUE(exists(path + ".1.gz"));
  EXPECT_TRUE(exists(path + ".2.gz"));
  EXPECT_FALSE(exists(path + ".1"));
  EXPECT_FALSE(exists(path + ".3.gz"));
  auto rotated = rotated_log_files(path);
  ASSERT_EQ(rotated.size(), 2u);
  EXPECT_EQ(rotated[0], path + ".2.gz");
  // The newest entry of .1.gz is recorded as lastTime.
  int64_t last1 = gz_last_time(path + ".1.gz");
  EXPECT_GT(last1, 1000000);
  EXPECT_LT(last1, 1000400);
  auto got = read_all(path, LogFormat::local);
  ASSERT_GT(got.size(), 20u);
  EXPECT_EQ(got.back().payload, "line-399\n");
  for (size_t i = 1; i < got.size(); ++i)
    EXPECT_EQ(std::stoi(got[i].payload.substr(5)), std::stoi(got[i - 1].payload.substr(5)) + 1);
  int first = std::stoi(got[0].payload.substr(5));
  EXPECT_GT(first, 0);
  // tail reaching into the compressed files
  ReadOptions tail;
  tail.tail = static_cast<int64_t>(got.size()) - 2;
  auto t2 = read_all(path, LogFormat::local, tail);
  ASSERT_EQ(t2.size(), got.size() - 2);
  EXPECT_EQ(t2.front().payload, got[2].payload);
  // since later than .2.gz's lastTime skips it without reading
  ReadOptions since;
  since.since_ns = last1;
  auto s = read_all(path, LogFormat::local, since);
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.front().time_ns, last1);
}

TEST(JsonFileCompress, RotatedFilesAreGzippedWithLastTime) {
  TempDir t;
  DriverConfig c;
  c.type = "json-file";
  c.path = t.file("c-json.log");
  c.opts = {{"max-size", "1k"}, {"max-file", "4"}, {"compress", "true"}};
  {
    auto d = make_driver(c);
    ASSERT_TRUE(d);
    for (int i = 0; i < 200; ++i)
      ASSERT_TRUE((*d)->write(Stream::out, "line-" + std::to_string(i) + "\n", 1700000000000000000 + i));
    ASSERT_TRUE((*d)->close(1700000001000000000));
  }
  for (const char* n : {".1.gz", ".2.gz", ".3.gz"}) EXPECT_TRUE(exists(c.path + n)) << n;
  EXPECT_FALSE(exists(c.path + ".1"));
  EXPECT_FALSE(exists(c.path + ".4.gz"));
  // A gzip stream gunzip understands, with Go's {"lastTime":…} header extra.
  auto gz = *fs::read_file(c.path + ".1.gz");
  ASSERT_GE(gz.size(), 12u);
  EXPECT_EQ(uint8_t(gz[0]), 0x1f);
  EXPECT_EQ(uint8_t(gz[3]) & 4, 4);
  size_t xlen = uint8_t(gz[10]) | (size_t(uint8_t(gz[11])) << 8);
  std::string extra = gz.substr(12, xlen);
  EXPECT_EQ(extra.rfind("{\"lastTime\":\"2023-11-14T22:13:20.", 0), 0u) << extra;
  EXPECT_EQ(extra.back(), '}');
  std::string cmd = "gzip -dc " + c.path + ".1.gz | head -c 9";
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[16] = {};
  ASSERT_EQ(std::fread(buf, 1, 9, p), 9u);
  ::pclose(p);
  EXPECT_EQ(std::string(buf), "{\"log\":\"l");
  auto got = read_all(c.path, LogFormat::json);
  ASSERT_GT(got.size(), 30u);
  EXPECT_EQ(got.back().payload, "line-199\n");
  for (size_t i = 1; i < got.size(); ++i)
    EXPECT_EQ(std::stoi(got[i].payload.substr(5)), std::stoi(got[i - 1].payload.substr(5)) + 1);
  ReadOptions tail;
  tail.tail = static_cast<int64_t>(got.size()) - 1;
  auto t2 = read_all(c.path, LogFormat::json, tail);
  ASSERT_EQ(t2.size(), got.size() - 1);
  EXPECT_EQ(t2.front().payload, got[1].payload);
}

TEST(JsonFileCompress, ValidationAsDockerd) {
  EXPECT_TRUE(validate_log_config("json-file", {{"compress", "true"}, {"max-size", "1m"}, {"max-file", "2"}}));
  auto e = validate_log_config("json-file", {{"compress", "true"}, {"max-size", "1m"}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().msg, "failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set");
  EXPECT_FALSE(validate_log_config("json-file", {{"compress", "true"}, {"max-file", "3"}}));
  EXPECT_TRUE(validate_log_config("json-file", {{"compress", "false"}}));
  EXPECT_TRUE(validate_log_config("local", {{"compress", "false"}, {"max-file", "2"}}));
}

TEST(LocalDriver, FactoryUsesLocalFormatWithDockerDefaults) {
  TempDir t;
  DriverConfig c;
  c.type = "local";
  c.path = t.file("local-logs/container.log");
  {
    auto d = make_driver(c);
    ASSERT_TRUE(d);
    ASSERT_TRUE((*d)->write(Stream::out, "hello\n", 42));
    ASSERT_TRUE((*d)->close(43));
  }
  auto raw = *fs::read_file(c.path);
  ASSERT_GE(raw.size(), 8u);
  EXPECT_EQ(raw[0], 0);  // a length, not '{'
  auto got = read_all(c.path, LogFormat::local);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "hello\n");
}


// A follower (read_new) that is several rotations behind gets every line
// of every rotated file still present, in order: the files rotated after
// the one it was reading (found by inode, or by the inode recorded in a
// .gz header), then the current file. Before, it jumped from its old file
// to the current one and lost the files in between.
struct FollowCase {
  const char* type;
  const char* file;
  const char* compress;
  LogFormat format;
};

class FollowRotations : public ::testing::TestWithParam<FollowCase> {};

TEST_P(FollowRotations, ReaderSeveralRotationsBehindMissesNoFile) {
  const FollowCase& fc = GetParam();
  TempDir t;
  DriverConfig c;
  c.type = fc.type;
  c.path = t.file(fc.file);
  c.opts = {{"max-size", "1k"}, {"max-file", "5"}, {"compress", fc.compress}};
  auto d = make_driver(c);
  ASSERT_TRUE(d);
  int next = 0;
  auto write_lines = [&](int n) {
    for (int i = 0; i < n; ++i, ++next) {
      ASSERT_TRUE((*d)->write(Stream::out, "line-" + std::to_string(next) + "\n", 1700000000000000000 + next));
      ASSERT_TRUE((*d)->flush());
    }
  };
  write_lines(5);
  auto r = JsonFileReader::open(c.path, fc.format);
  ASSERT_TRUE(r);
  std::vector<int> got;
  auto sink = [&](const LogEntry& e) {
    got.push_back(std::stoi(e.payload.substr(5)));
    return true;
  };
  ASSERT_TRUE(r->read_existing({}, sink));
  ASSERT_EQ(got.size(), 5u);
  // Three or more rotations (1 KiB holds ~15 json lines, ~40 local
  // records) while the reader sleeps; max-file 5 keeps them all.
  write_lines(fc.format == LogFormat::json ? 45 : 110);
  bool stopped = false;
  ASSERT_TRUE(r->read_new({}, sink, &stopped));
  ASSERT_GE(rotated_log_files(c.path).size(), 3u);
  ASSERT_EQ(got.size(), static_cast<size_t>(next));
  for (int i = 0; i < next; ++i) ASSERT_EQ(got[static_cast<size_t>(i)], i) << "line " << i;
  // Behind by more than max-file: the rest of the file it holds open,
  // then (the files in between are deleted) every file still on disk,
  // whole and in order.
  write_lines(fc.format == LogFormat::json ? 120 : 300);
  ASSERT_TRUE((*d)->close(1800000000000000000));  // waits for the last compression
  size_t before = got.size();
  ASSERT_TRUE(r->read_new({}, sink, &stopped));
  auto all = read_all(c.path, fc.format);
  ASSERT_FALSE(all.empty());
  std::vector<int> on_disk;
  for (const auto& e : all) on_disk.push_back(std::stoi(e.payload.substr(5)));
  ASSERT_GE(got.size(), before + on_disk.size());
  size_t held = got.size() - before - on_disk.size();  // lines of the deleted file it held
  for (size_t i = 0; i < held; ++i) ASSERT_EQ(got[before + i], got[before - 1] + 1 + static_cast<int>(i));
  EXPECT_EQ(std::vector<int>(got.begin() + static_cast<std::ptrdiff_t>(before + held), got.end()), on_disk);
  EXPECT_EQ(got.back(), next - 1);
}

INSTANTIATE_TEST_SUITE_P(
    Drivers, FollowRotations,
    ::testing::Values(FollowCase{"json-file", "c-json.log", "false", LogFormat::json},
                      FollowCase{"json-file", "c-json.log", "true", LogFormat::json},
                      FollowCase{"local", "container.log", "false", LogFormat::local},
                      FollowCase{"local", "container.log", "true", LogFormat::local}),
    [](const auto& info) {
      return std::string(info.param.format == LogFormat::json ? "json" : "local") +
             (std::string(info.param.compress) == "true" ? "_gz" : "_plain");
    });

// `logs --since` on the local format bisects on record times (resyncing
// on the length framing) instead of reading the file from its start.
TEST(LocalFileReader, SinceBisectsWithoutScanning) {
  TempDir t;
  std::string path = t.file("container.log");
  LocalFileWriter::Options o;
  o.max_size = 0;  // one big file
  o.compress = false;
  const int kLines = 150000;
  {
    auto w = LocalFileWriter::open(path, o);
    ASSERT_TRUE(w);
    std::string chunk;
    for (int i = 0; i < kLines; ++i) {
      // Mixed lengths, and one line over 16 KiB (partial records) near the end.
      std::string line = "entry " + std::to_string(i) + " " + std::string(static_cast<size_t>(i % 97), 'z');
      if (i == kLines - 20) line = "long " + std::string(40000, 'L');
      ASSERT_TRUE((*w)->write(i % 3 ? Stream::out : Stream::err, line + "\n", 1700000000000000000 + int64_t(i) * 1000));
    }
    ASSERT_TRUE((*w)->close(1800000000000000000));
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  ASSERT_GT(st.st_size, 8 << 20);
  for (int first : {0, 1, kLines / 2, kLines - 25, kLines - 10, kLines - 1}) {
    auto r = JsonFileReader::open(path, LogFormat::local);
    ASSERT_TRUE(r);
    ReadOptions since;
    since.since_ns = 1700000000000000000 + int64_t(first) * 1000;
    std::vector<LogEntry> got;
    ASSERT_TRUE(r->read_existing(since, [&](const LogEntry& e) {
      got.push_back(e);
      return true;
    }));
    // Exactly the entries from `first` on (the long line is 3 pieces).
    size_t want = static_cast<size_t>(kLines - first) + (first <= kLines - 20 ? 2 : 0);
    ASSERT_EQ(got.size(), want) << "since entry " << first;
    EXPECT_EQ(got.front().time_ns, since.since_ns);
    EXPECT_EQ(got.back().payload.rfind("entry " + std::to_string(kLines - 1) + " ", 0), 0u);
    if (first >= kLines - 25) {
      // Not a scan: a bisection's windows plus what is emitted.
      int64_t emitted = static_cast<int64_t>(kLines - first) * 120 + 41000;
      EXPECT_LT(r->bytes_read(), emitted + 2 * 1024 * 1024) << "since entry " << first << " of " << st.st_size;
      EXPECT_LT(r->bytes_read(), st.st_size / 4);
      std::printf("local --since entry %d: read %lld of %lld bytes\n", first, static_cast<long long>(r->bytes_read()),
                  static_cast<long long>(st.st_size));
    }
  }
}

}  // namespace
}  // namespace berth::logging
