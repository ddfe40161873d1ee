#include "logging/json_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/fs.h"
#include "common/strings.h"
#include "common/json.h"

namespace berth::logging {
namespace {

std::string esc(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/shim-logtest-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)fs::remove_all(path_); }
  std::string file(const std::string& n) const { return path_ + "/" + n; }

 private:
  std::string path_;
};

TEST(JsonEscape, GoRules) {
  EXPECT_EQ(esc("hello"), "\"hello\"");
  EXPECT_EQ(esc("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(esc("<a href=\"x\">&</a>"),
            "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u003c/a\\u003e\"");
  EXPECT_EQ(esc("line\n"), "\"line\\n\"");
  EXPECT_EQ(esc("cr\r"), "\"cr\\r\"");
  // moby's jsonlog writes \t, \b, \f and other controls as \u00XX.
  EXPECT_EQ(esc("\t\b\f"), "\"\\u0009\\u0008\\u000c\"");
  EXPECT_EQ(esc(std::string("\0\x1f\x7f", 3)), "\"\\u0000\\u001f\x7f\"");
  EXPECT_EQ(esc("/"), "\"/\"");
}

TEST(JsonEscape, Utf8) {
  EXPECT_EQ(esc("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"");
  // Invalid bytes become \ufffd one byte at a time.
  EXPECT_EQ(esc("a\xff" "b"), "\"a\\ufffdb\"");
  EXPECT_EQ(esc("\xc3"), "\"\\ufffd\"");               // truncated
  EXPECT_EQ(esc("\xc0\xaf"), "\"\\ufffd\\ufffd\"");    // overlong
  EXPECT_EQ(esc("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  EXPECT_EQ(esc("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // > U+10FFFF
  EXPECT_EQ(esc("\xe2\x82"), "\"\\ufffd\\ufffd\"");
  // A literal U+FFFD is valid UTF-8 and passes through.
  EXPECT_EQ(esc("\xef\xbf\xbd"), "\"\xef\xbf\xbd\"");
  EXPECT_EQ(esc("\xe2\x80\xa8\xe2\x80\xa9"), "\"\\u2028\\u2029\"");
}

// The 16-byte fast path hands over to the byte loop at every position of
// a block: each special byte at offsets 0..47 of a plain-ASCII run gives
// the same escaping as on its own.
TEST(JsonEscape, EveryPositionInsideLongPlainRuns) {
  const std::vector<std::string> specials = {"\"", "\\", "<", ">", "&", "\n", "\t", std::string(1, '\0'),
                                             "\x1f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                             "\xff", "\xe2\x80\xa8", "\x7f"};
  for (const auto& sp : specials) {
    std::string inner = esc(sp).substr(1);
    inner.pop_back();
    for (size_t at = 0; at < 48; ++at) {
      std::string pre(at, 'a'), post(37, 'b');
      std::string expect = "\"" + pre + inner + post + "\"";
      EXPECT_EQ(esc(pre + sp + post), expect) << "special " << inner << " at " << at;
    }
  }
  // A multibyte sequence split across a 16-byte boundary.
  std::string s(15, 'x');
  s += "\xe2\x82\xac";
  s += std::string(20, 'y');
  EXPECT_EQ(esc(s), "\"" + s + "\"");
}

TEST(JsonLogLine, ExactFormat) {
  std::string out;
  append_json_log_line(out, Stream::out, "hello\n", 1796067201123456789LL);
  EXPECT_EQ(out, "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-30T19:33:21.123456789Z\"}\n");
  out.clear();
  append_json_log_line(out, Stream::err, "x", 1796067201120000000LL);
  EXPECT_EQ(out, "{\"log\":\"x\",\"stream\":\"stderr\",\"time\":\"2026-11-30T19:33:21.12Z\"}\n");
  out.clear();
  append_json_log_line(out, Stream::err, "x", 1796067201000000000LL);
  EXPECT_EQ(out, "{\"log\":\"x\",\"stream\":\"stderr\",\"time\":\"2026-11-30T19:33:21Z\"}\n");
}

TEST(JsonLogLine, FixedTimestamp) {
  EXPECT_EQ(rfc3339_nano_fixed(1796067201120000000LL), "2026-11-30T19:33:21.120000000Z");
  EXPECT_EQ(rfc3339_nano_fixed(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(rfc3339_nano_fixed(951782400000000001LL), "2000-02-29T00:00:00.000000001Z");
}

TEST(JsonLogLine, RoundTripThroughParser) {
  std::string weird = "tab\t<&> \"q\" \\ \xc3\xa9 \xf0\x9f\x98\x80\x01\n";
  std::string out;
  append_json_log_line(out, Stream::err, weird, 1796067201123456789LL);
  auto e = parse_json_log_line(out);
  ASSERT_TRUE(e) << e.error().msg;
  EXPECT_EQ(e->payload, weird);
  EXPECT_EQ(e->stream, Stream::err);
  EXPECT_EQ(e->time_ns, 1796067201123456789LL);
  // nlohmann agrees that the line is valid JSON with the same content.
  auto j = parse_json(out);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["log"].get<std::string>(), weird);
}

TEST(JsonLogLine, ParserAcceptsDockerVariants) {
  auto e = parse_json_log_line(
      "{\"log\":\"a\\u003cb\\ud83d\\ude00\\t\",\"stream\":\"stdout\",\"attrs\":{\"k\":\"v\",\"n\":[1,2]},"
      "\"time\":\"2026-11-29T19:48:21.5+01:00\"}");
  ASSERT_TRUE(e) << e.error().msg;
  EXPECT_EQ(e->payload, "a<b\xf0\x9f\x98\x80\t");
  EXPECT_EQ(e->time_ns, 1795978101500000000LL);  // 2026-11-29T18:48:21.5Z
  EXPECT_FALSE(parse_json_log_line("{\"log\":\"x\"}"));  // no time
  EXPECT_FALSE(parse_json_log_line("not json"));
  EXPECT_FALSE(parse_json_log_line("{\"log\":\"x\",\"time\":\"2026-11-29T19:48:21Z\""));
}

struct Collected {
  std::vector<LogEntry> entries;
  EntrySink sink() {
    return [this](const LogEntry& e) {
      entries.push_back(e);
      return true;
    };
  }
};

std::vector<std::string> lines_of(const std::string& path) {
  auto data = fs::read_file(path);
  std::vector<std::string> out;
  if (!data) return out;
  size_t p = 0;
  while (p < data->size()) {
    size_t nl = data->find('\n', p);
    out.push_back(data->substr(p, nl - p));
    p = nl + 1;
  }
  return out;
}

TEST(JsonFileWriter, SplitsLinesAcrossChunks) {
  TempDir d;
  auto w = JsonFileWriter::open(d.file("log.json"));
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write(Stream::out, "hel", 1000000000));
  ASSERT_TRUE((*w)->write(Stream::err, "E1\nE", 1000000000));
  ASSERT_TRUE((*w)->write(Stream::out, "lo\nworld\n\npart", 2000000000));
  ASSERT_TRUE((*w)->flush());
  auto l = lines_of(d.file("log.json"));
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[0], "{\"log\":\"E1\\n\",\"stream\":\"stderr\",\"time\":\"1970-01-01T00:00:01Z\"}");
  EXPECT_EQ(l[1], "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"1970-01-01T00:00:02Z\"}");
  EXPECT_EQ(l[2], "{\"log\":\"world\\n\",\"stream\":\"stdout\",\"time\":\"1970-01-01T00:00:02Z\"}");
  EXPECT_EQ(l[3], "{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"1970-01-01T00:00:02Z\"}");
  ASSERT_TRUE((*w)->close(3000000000));
  l = lines_of(d.file("log.json"));
  ASSERT_EQ(l.size(), 6u);
  // Partial lines are written at close, without a newline.
  EXPECT_EQ(l[4], "{\"log\":\"part\",\"stream\":\"stdout\",\"time\":\"1970-01-01T00:00:03Z\"}");
  EXPECT_EQ(l[5], "{\"log\":\"E\",\"stream\":\"stderr\",\"time\":\"1970-01-01T00:00:03Z\"}");
}

// The writer formats the date once per second and only the fraction per
// new stamp: every stamp still matches the full formatter (RFC3339Nano,
// trailing zeros dropped), also across seconds and going backwards.
TEST(JsonFileWriter, TimestampCachedPerSecondKeepsExactNanos) {
  TempDir d;
  auto w = JsonFileWriter::open(d.file("log.json"));
  ASSERT_TRUE(w);
  const int64_t base = 1796067201000000000LL;
  const std::vector<int64_t> stamps = {base, base + 500000000, base + 1, base + 120000000, base + 999999999,
                                       base + 1000000000, base + 1000000010, base - 1, base + 86400000000000LL,
                                       base + 86400000000007LL, base + 7};
  std::string expect;
  for (size_t i = 0; i < stamps.size(); ++i) {
    std::string line = "l" + std::to_string(i) + "\n";
    ASSERT_TRUE((*w)->write(Stream::out, line, stamps[i]));
    append_json_log_line(expect, Stream::out, line, stamps[i]);
  }
  ASSERT_TRUE((*w)->close(0));
  EXPECT_EQ(*fs::read_file(d.file("log.json")), expect);
}

TEST(JsonFileWriter, CutsPartialLinesAt16KiB) {
  TempDir d;
  auto w = JsonFileWriter::open(d.file("log.json"));
  ASSERT_TRUE(w);
  std::string big(40000, 'x');
  // Feed in odd chunk sizes.
  for (size_t i = 0; i < big.size(); i += 999)
    ASSERT_TRUE((*w)->write(Stream::out, std::string_view(big).substr(i, 999), 5));
  ASSERT_TRUE((*w)->write(Stream::out, "\n", 5));
  ASSERT_TRUE((*w)->flush());
  auto l = lines_of(d.file("log.json"));
  ASSERT_EQ(l.size(), 3u);
  auto e0 = parse_json_log_line(l[0]);
  auto e1 = parse_json_log_line(l[1]);
  auto e2 = parse_json_log_line(l[2]);
  ASSERT_TRUE(e0 && e1 && e2);
  EXPECT_EQ(e0->payload, std::string(16384, 'x'));
  EXPECT_EQ(e1->payload, std::string(16384, 'x'));
  EXPECT_EQ(e2->payload, std::string(40000 - 32768, 'x') + "\n");
}

TEST(JsonFileWriter, BuffersUntilThresholdOrFlush) {
  TempDir d;
  JsonFileWriter::Options o;
  o.flush_threshold = 1 << 20;
  auto w = JsonFileWriter::open(d.file("log.json"), o);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write(Stream::out, "a\nb\n", 1));
  EXPECT_GT((*w)->pending_bytes(), 0u);
  EXPECT_EQ(fs::read_file(d.file("log.json"))->size(), 0u);
  ASSERT_TRUE((*w)->flush());
  EXPECT_EQ((*w)->pending_bytes(), 0u);
  EXPECT_EQ(lines_of(d.file("log.json")).size(), 2u);
}

// A chunk far bigger than the threshold is written as it is encoded: the
// buffer stays near flush_threshold (the shim reads up to 64 KiB at once
// and flushes on a timer; its RSS budget is 1 MiB).
TEST(JsonFileWriter, BufferBoundedByThresholdForBigChunks) {
  TempDir d;
  JsonFileWriter::Options o;
  o.flush_threshold = 4096;
  auto w = JsonFileWriter::open(d.file("log.json"), o);
  ASSERT_TRUE(w);
  std::string chunk;
  for (int i = 0; i < 10000; ++i) chunk += std::string(99, 'x') + "\n";
  ASSERT_TRUE((*w)->write(Stream::out, chunk, 1));
  EXPECT_LT((*w)->buffer_bytes(), 16384u);
  ASSERT_TRUE((*w)->close(2));
  EXPECT_EQ(lines_of(d.file("log.json")).size(), 10000u);
}

// After a burst, trim() (the shim calls it once output is quiet) gives the
// encode buffer's pages back: the shim's RSS after a stream returns to idle.
TEST(JsonFileWriter, FlushGivesTheBufferPagesBack) {
  TempDir d;
  auto w = JsonFileWriter::open(d.file("log.json"));
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)->resident_bytes(), 0u);
  std::string chunk;
  while (chunk.size() < 65536 - 80) chunk += std::string(79, 'x') + "\n";
  for (int i = 0; i < 32; ++i) ASSERT_TRUE((*w)->write(Stream::out, chunk, 1));
  // The threshold writes (128 KiB) touched the buffer's first pages.
  EXPECT_GE((*w)->resident_bytes(), 64u * 1024);
  // flush() keeps them (the shim flushes every 2 ms while output streams).
  ASSERT_TRUE((*w)->flush());
  EXPECT_GE((*w)->resident_bytes(), 64u * 1024);
  (*w)->trim();
  EXPECT_LE((*w)->resident_bytes(), JsonFileWriter::kKeepResident);
  // The buffer is reused after the release.
  ASSERT_TRUE((*w)->write(Stream::out, chunk, 2));
  ASSERT_TRUE((*w)->close(3));
  EXPECT_EQ(lines_of(d.file("log.json")).size(), 33u * (chunk.size() / 80));
}

// Writes entries at t = 1..n seconds, stream alternating out/err.
void write_numbered(const std::string& path, int n) {
  auto w = JsonFileWriter::open(path);
  ASSERT_TRUE(w);
  for (int i = 1; i <= n; ++i) {
    std::string line = "line" + std::to_string(i) + "\n";
    ASSERT_TRUE((*w)->write(i % 2 ? Stream::out : Stream::err, line, int64_t{i} * 1000000000));
  }
  ASSERT_TRUE((*w)->close(0));
}

TEST(JsonFileReader, TailSinceUntilStreams) {
  TempDir d;
  auto path = d.file("log.json");
  write_numbered(path, 10);
  auto read = [&](ReadOptions o) {
    auto r = JsonFileReader::open(path);
    EXPECT_TRUE(r);
    std::vector<std::string> got;
    EXPECT_TRUE(r->read_existing(o, [&](const LogEntry& e) {
      got.push_back(e.payload);
      return true;
    }));
    return got;
  };
  EXPECT_EQ(read({}).size(), 10u);
  ReadOptions o;
  o.tail = 3;
  EXPECT_EQ(read(o), (std::vector<std::string>{"line8\n", "line9\n", "line10\n"}));
  o.tail = 0;
  EXPECT_TRUE(read(o).empty());
  o.tail = 100;
  EXPECT_EQ(read(o).size(), 10u);
  o = {};
  o.since_ns = 8 * 1000000000LL;
  EXPECT_EQ(read(o), (std::vector<std::string>{"line8\n", "line9\n", "line10\n"}));
  o = {};
  o.until_ns = 2 * 1000000000LL;
  EXPECT_EQ(read(o), (std::vector<std::string>{"line1\n", "line2\n"}));
  o = {};
  o.want_stderr = false;
  o.tail = 4;  // tail counts lines of the file, before the stream filter
  EXPECT_EQ(read(o), (std::vector<std::string>{"line7\n", "line9\n"}));
  o = {};
  o.tail = 5;
  o.since_ns = 9 * 1000000000LL;
  EXPECT_EQ(read(o), (std::vector<std::string>{"line9\n", "line10\n"}));
}

TEST(JsonFileReader, IgnoresIncompleteLastLineUntilCompleted) {
  TempDir d;
  auto path = d.file("log.json");
  write_numbered(path, 2);
  std::string full;
  append_json_log_line(full, Stream::out, "three\n", 3000000000);
  {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND));
    ASSERT_TRUE(fs::write_all(fd.get(), full.substr(0, 10)));
  }
  auto r = JsonFileReader::open(path);
  ASSERT_TRUE(r);
  Collected c;
  ReadOptions o;
  o.tail = 1;
  ASSERT_TRUE(r->read_existing(o, c.sink()));
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.entries[0].payload, "line2\n");
  {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND));
    ASSERT_TRUE(fs::write_all(fd.get(), full.substr(10)));
  }
  bool stopped = true;
  auto n = r->read_new({}, c.sink(), &stopped);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);
  EXPECT_FALSE(stopped);
  EXPECT_EQ(c.entries.back().payload, "three\n");
}

TEST(JsonFileFollower, FollowsAppendsAndStopsAfterExit) {
  TempDir d;
  auto path = d.file("log.json");
  auto w = JsonFileWriter::open(path);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write(Stream::out, "before\n", 1));
  ASSERT_TRUE((*w)->flush());
  auto r = JsonFileReader::open(path);
  ASSERT_TRUE(r);
  std::vector<std::string> got;
  ASSERT_TRUE(r->read_existing({}, [&](const LogEntry& e) {
    got.push_back(e.payload);
    return true;
  }));
  JsonFileFollower f(std::move(*r), {});
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (void)(*w)->write(Stream::err, "during\n", 2);
    (void)(*w)->flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (void)(*w)->write(Stream::out, "last\n", 3);
    (void)(*w)->close(3);
    f.notify_exited();
  });
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(f.run([&](const LogEntry& e) {
    got.push_back(e.payload);
    return true;
  }));
  writer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
  EXPECT_EQ(got, (std::vector<std::string>{"before\n", "during\n", "last\n"}));
}

TEST(JsonFileFollower, CancelWakesRun) {
  TempDir d;
  auto r = JsonFileReader::open(d.file("missing.json"));
  ASSERT_TRUE(r);
  JsonFileFollower f(std::move(*r), {});
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    f.cancel();
  });
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(f.run([](const LogEntry&) { return true; }));
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
}

TEST(Stdcopy, FrameEncoding) {
  std::string out;
  append_stdcopy_frame(out, Stream::err, "hi");
  EXPECT_EQ(out, std::string("\x02\x00\x00\x00\x00\x00\x00\x02hi", 10));
  out.clear();
  append_stdcopy_frame(out, Stream::out, std::string(0x10203, 'a'));
  EXPECT_EQ(out.substr(0, 8), std::string("\x01\x00\x00\x00\x00\x01\x02\x03", 8));
  EXPECT_EQ(out.size(), 8u + 0x10203u);
}

TEST(Stdcopy, LogEntryFormatting) {
  LogEntry e{Stream::out, 1796067201123456789LL, "hello\n"};
  std::string out;
  append_log_entry(out, e, /*raw=*/true, /*timestamps=*/true);
  EXPECT_EQ(out, "2026-11-30T19:33:21.123456789Z hello\n");
  out.clear();
  append_log_entry(out, e, /*raw=*/false, /*timestamps=*/false);
  EXPECT_EQ(out, std::string("\x01\x00\x00\x00\x00\x00\x00\x06hello\n", 14));
  out.clear();
  e.time_ns = 1796067201000000000LL;
  e.stream = Stream::err;
  append_log_entry(out, e, /*raw=*/false, /*timestamps=*/true);
  std::string payload = "2026-11-30T19:33:21.000000000Z hello\n";
  EXPECT_EQ(out, std::string("\x02\x00\x00\x00\x00\x00\x00", 7) + static_cast<char>(payload.size()) +
                     payload);
}

TEST(Stdcopy, DetailsPrefixTheAttrsAsDockerd) {
  auto e = parse_json_log_line(
      R"({"log":"hello\n","stream":"stdout","attrs":{"foo":"b ar","E":"v,w","a":"z/1"},"time":"2026-11-30T19:33:21Z"})");
  ASSERT_TRUE(e);
  ASSERT_EQ(e->attrs.size(), 3u);
  std::string out;
  append_log_entry(out, *e, /*raw=*/true, /*timestamps=*/false, /*details=*/true);
  EXPECT_EQ(out, "E=v%2Cw,a=z%2F1,foo=b+ar hello\n");
  auto plain = parse_json_log_line(R"({"log":"x\n","stream":"stdout","time":"2026-11-30T19:33:21Z"})");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->attrs.empty());
  out.clear();
  append_log_entry(out, *plain, true, false, true);
  EXPECT_EQ(out, " x\n");
  auto odd = parse_json_log_line(R"({"log":"x","attrs":{"a":1,"b":"c"},"time":"2026-11-30T19:33:21Z"})");
  ASSERT_TRUE(odd);  // a non-string value is dropped, not fatal
  ASSERT_EQ(odd->attrs.size(), 1u);
  EXPECT_EQ(odd->attrs[0].first, "b");
}

TEST(JsonFileWriter, Throughput) {
  // Not a benchmark gate (shared 2-core machine); prints MB/s for the report
  // and checks a loose floor so a pathological regression fails.
  TempDir d;
  auto w = JsonFileWriter::open(d.file("log.json"));
  ASSERT_TRUE(w);
  std::string chunk;
  for (int i = 0; i < 800; ++i) chunk += "2026-11-29 19:48:21 INFO request served path=/api/v1/items status=200\n";
  size_t total = 0;
  auto t0 = std::chrono::steady_clock::now();
  while (total < (256u << 20)) {
    ASSERT_TRUE((*w)->write(Stream::out, chunk, 1796067201123456789LL));
    total += chunk.size();
  }
  ASSERT_TRUE((*w)->close(0));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double mbps = static_cast<double>(total) / secs / 1e6;
  std::printf("json-file write: %.0f MB/s of container output\n", mbps);
  EXPECT_GT(mbps, 25.0);  // loose: the CI machine may be loaded (bench/ measures)

  auto r = JsonFileReader::open(d.file("log.json"));
  ASSERT_TRUE(r);
  size_t bytes = 0;
  t0 = std::chrono::steady_clock::now();
  std::string framed;
  ASSERT_TRUE(r->read_existing({}, [&](const LogEntry& e) {
    framed.clear();
    append_log_entry(framed, e, false, false);
    bytes += e.payload.size();
    return true;
  }));
  secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("json-file read: %.0f MB/s of payload\n", static_cast<double>(bytes) / secs / 1e6);
  EXPECT_EQ(bytes, total);
}

// The reader parses a second's date and time of day once and then only the
// fraction of each stamp: every form gives what the full parser gives.
TEST(JsonFileReader, CachedStampsMatchTheFullParser) {
  TempDir d;
  const std::vector<std::string> times = {
      "2023-11-14T22:13:20.5Z",         "2023-11-14T22:13:20.123456789Z", "2023-11-14T22:13:20Z",
      "2023-11-14T22:13:20.000000001Z", "2023-11-14T22:13:21.25Z",        "2023-11-14T22:13:20.75Z",
      "2023-11-14T23:13:20.5+01:00",    "2023-11-14T22:13:2\\u0030.9Z",   "2024-02-29T00:00:00.1Z",
      "2024-02-29T00:00:00.1234567890Z"};
  std::string text;
  for (size_t i = 0; i < times.size(); ++i)
    text += "{\"log\":\"l" + std::to_string(i) + "\\n\",\"stream\":\"stdout\",\"time\":\"" + times[i] + "\"}\n";
  ASSERT_TRUE(fs::write_file_atomic(d.file("log.json"), text));
  std::vector<int64_t> want;
  for (const auto& line : str::split(text, '\n')) {
    if (line.empty()) continue;
    auto e = parse_json_log_line(line);
    want.push_back(e ? e->time_ns : -1);
  }
  auto r = JsonFileReader::open(d.file("log.json"));
  ASSERT_TRUE(r);
  std::vector<int64_t> got;
  std::vector<std::string> payloads;
  ASSERT_TRUE(r->read_existing({}, [&](const LogEntry& e) {
    got.push_back(e.time_ns);
    payloads.push_back(e.payload);
    return true;
  }));
  // Every line the full parser accepts is read with the same time.
  std::vector<int64_t> accepted;
  for (auto t : want)
    if (t != -1) accepted.push_back(t);
  EXPECT_EQ(got, accepted);
  ASSERT_GE(got.size(), 9u);
  EXPECT_EQ(got[0], 1700000000500000000);
  EXPECT_EQ(got[1], 1700000000123456789);
  EXPECT_EQ(got[2], 1700000000000000000);
  EXPECT_EQ(got[4], 1700000001250000000);
  EXPECT_EQ(got[6], 1700000000500000000);  // +01:00
  EXPECT_EQ(got[7], 1700000000900000000);  // escaped digit
}

}  // namespace
}  // namespace berth::logging
