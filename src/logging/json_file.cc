#include "logging/json_file.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <optional>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/time.h"
#include "common/fs.h"
#include "logging/local_file.h"

namespace berth::logging {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// 1 for bytes that need no escaping (ASCII >= 0x20 except \ " < > &).
struct SafeTable {
  bool safe[256];
  constexpr SafeTable() : safe() {
    for (int i = 0; i < 256; ++i)
      safe[i] = i >= 0x20 && i < 0x80 && i != '\\' && i != '"' && i != '<' && i != '>' && i != '&';
  }
};
constexpr SafeTable kSafe;

// Length of the valid UTF-8 sequence at p (Go's utf8.DecodeRune rules), or 0.
inline size_t utf8_len(const unsigned char* p, size_t avail, uint32_t* cp) {
  unsigned char c = p[0];
  auto cont = [&](size_t i) { return i < avail && (p[i] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) {
    if (!cont(1)) return 0;
    *cp = ((c & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 2) return 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (p[1] < lo || p[1] > hi || !cont(2)) return 0;
    *cp = ((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 2) return 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (p[1] < lo || p[1] > hi || !cont(2) || !cont(3)) return 0;
    *cp = ((c & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
    return 4;
  }
  return 0;
}


void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Minimal JSON scanner for one json-file line.
// The seconds of the last "YYYY-MM-DDTHH:MM:SS" a reader parsed: the
// entries of one second share it, so most stamps parse only their fraction.
struct TimeCache {
  char prefix[19];
  int64_t sec_ns = 0;
  bool valid = false;
};

// parse_rfc3339_to for the writer's form ("…SS[.fffffffff]Z"), its date and
// time of day looked up in `c`; any other form goes to the full parser.
bool parse_time_cached(std::string_view v, TimeCache* c, int64_t* out) {
  if (!c || v.size() < 20 || v.size() > 30 || v.back() != 'Z' || (v[19] != '.' && v[19] != 'Z'))
    return timeutil::parse_rfc3339_to(v, out);
  int64_t frac = 0;
  if (v[19] == '.') {
    size_t nd = v.size() - 21;  // digits between '.' and 'Z'
    if (nd == 0 || nd > 9) return timeutil::parse_rfc3339_to(v, out);
    for (size_t k = 20; k < v.size() - 1; ++k) {
      if (v[k] < '0' || v[k] > '9') return timeutil::parse_rfc3339_to(v, out);
      frac = frac * 10 + (v[k] - '0');
    }
    for (size_t k = nd; k < 9; ++k) frac *= 10;
  } else if (v.size() != 20) {
    return timeutil::parse_rfc3339_to(v, out);
  }
  if (!c->valid || std::memcmp(c->prefix, v.data(), 19) != 0) {
    char whole[20];
    std::memcpy(whole, v.data(), 19);
    whole[19] = 'Z';
    int64_t sec = 0;
    if (!timeutil::parse_rfc3339_to(std::string_view(whole, 20), &sec)) return false;
    std::memcpy(c->prefix, v.data(), 19);
    c->sec_ns = sec;
    c->valid = true;
  }
  *out = c->sec_ns + frac;
  return true;
}

class LineParser {
 public:
  explicit LineParser(std::string_view s, TimeCache* tc = nullptr) : s_(s), tc_(tc) {}

  bool parse(LogEntry* e) {
    bool have_stream = false, have_time = false;
    e->attrs.clear();
    ws();
    if (!eat('{')) return false;
    ws();
    if (eat('}')) return false;
    for (;;) {
      ws();
      std::string_view key;
      if (!raw_string(&key)) return false;
      ws();
      if (!eat(':')) return false;
      ws();
      if (key == "log") {
        e->payload.clear();
        if (!string_value(&e->payload)) return false;
      } else if (key == "stream") {
        // Plain (no escapes) in what writers produce: no copy; else decoded.
        std::string_view v;
        std::string decoded;
        if (!string_view_value(&v, &decoded)) return false;
        if (v == "stdout") {
          e->stream = Stream::out;
        } else if (v == "stderr") {
          e->stream = Stream::err;
        } else if (v == "stdin") {
          e->stream = Stream::in;
        } else {
          return false;
        }
        have_stream = true;
      } else if (key == "time") {
        std::string_view v;
        std::string decoded;
        if (!string_view_value(&v, &decoded)) return false;
        if (!parse_time_cached(v, tc_, &e->time_ns)) return false;
        have_time = true;
      } else if (key == "attrs") {
        e->attrs.clear();
        if (!eat('{')) return false;
        ws();
        if (!eat('}')) {
          for (;;) {
            ws();
            std::string k, v;
            if (!string_value(&k)) return false;
            ws();
            if (!eat(':')) return false;
            ws();
            if (i_ < s_.size() && s_[i_] == '"') {
              if (!string_value(&v)) return false;
              e->attrs.emplace_back(std::move(k), std::move(v));
            } else if (!skip_value(0)) {  // not Docker's (string values only): tolerated, dropped
              return false;
            }
            ws();
            if (eat(',')) continue;
            if (eat('}')) break;
            return false;
          }
        }
      } else {
        if (!skip_value(0)) return false;
      }
      ws();
      if (eat(',')) continue;
      if (eat('}')) break;
      return false;
    }
    (void)have_stream;
    return have_time;
  }

 private:
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  // A key without escapes (json-file keys never have any).
  bool raw_string(std::string_view* out) {
    if (!eat('"')) return false;
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\') return false;
      ++i_;
    }
    if (i_ >= s_.size()) return false;
    *out = s_.substr(start, i_ - start);
    ++i_;
    return true;
  }
  bool hex4(uint32_t* v) {
    if (i_ + 4 > s_.size()) return false;
    uint32_t r = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_ + static_cast<size_t>(k)];
      r <<= 4;
      if (c >= '0' && c <= '9') r |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') r |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') r |= static_cast<uint32_t>(c - 'A' + 10);
      else return false;
    }
    i_ += 4;
    *v = r;
    return true;
  }
  // A string value without a copy when it has no escapes (what writers
  // produce); else decoded into *scratch, which *out then views.
  bool string_view_value(std::string_view* out, std::string* scratch) {
    size_t at = i_;
    if (raw_string(out)) return true;
    i_ = at;
    if (!string_value(scratch)) return false;
    *out = *scratch;
    return true;
  }
  bool string_value(std::string* out) {
    if (!eat('"')) return false;
    for (;;) {
      size_t start = i_;
#if defined(__SSE2__)
      // 16 bytes at a time up to the first '"' or '\\'.
      {
        const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
        while (i_ + 16 <= s_.size()) {
          __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s_.data() + i_));
          int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
          if (mask != 0) {
            i_ += static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
            break;
          }
          i_ += 16;
        }
      }
#endif
      while (i_ < s_.size() && s_[i_] != '"' && s_[i_] != '\\') ++i_;
      out->append(s_.data() + start, i_ - start);
      if (i_ >= s_.size()) return false;
      if (s_[i_] == '"') {
        ++i_;
        return true;
      }
      ++i_;  // backslash
      if (i_ >= s_.size()) return false;
      char c = s_[i_++];
      switch (c) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {
            uint32_t lo;
            size_t save = i_;
            if (i_ + 1 < s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
              i_ += 2;
              if (hex4(&lo) && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              } else {
                i_ = save;
                cp = 0xFFFD;
              }
            } else {
              cp = 0xFFFD;
            }
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            cp = 0xFFFD;
          }
          append_utf8(*out, cp);
          break;
        }
        default:
          return false;
      }
    }
  }
  bool skip_value(int depth) {
    if (depth > 64 || i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '"') {
      std::string tmp;
      return string_value(&tmp);
    }
    if (c == '{' || c == '[') {
      char close = c == '{' ? '}' : ']';
      ++i_;
      ws();
      if (eat(close)) return true;
      for (;;) {
        ws();
        if (c == '{') {
          std::string k;
          if (!string_value(&k)) return false;
          ws();
          if (!eat(':')) return false;
          ws();
        }
        if (!skip_value(depth + 1)) return false;
        ws();
        if (eat(',')) continue;
        return eat(close);
      }
    }
    // number, true, false, null
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' && s_[i_] != ' ')
      ++i_;
    return i_ > start;
  }

  std::string_view s_;
  size_t i_ = 0;
  TimeCache* tc_ = nullptr;
};

Result<int64_t> file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return sys_error("fstat");
  return static_cast<int64_t>(st.st_size);
}

}  // namespace

std::string_view stream_name(Stream s) {
  switch (s) {
    case Stream::in: return "stdin";
    case Stream::out: return "stdout";
    case Stream::err: return "stderr";
  }
  return "stdout";
}

// Escapes sv into dst (room for 6 * sv.size() + 2 bytes); returns the end.
static char* encode_json_string(char* dst, std::string_view sv) {
  const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
  const size_t n = sv.size();
  *dst++ = '"';
  size_t i = 0;
  while (i < n) {
#if defined(__SSE2__)
    // 16 bytes at a time while none needs escaping: no byte < 0x20 or
    // >= 0x80 (signed compare: both are < 0x20 as int8) and none of
    // \ " < > &. Log lines are mostly plain ASCII.
    {
      const __m128i space = _mm_set1_epi8(0x20);
      const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
      const __m128i lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>'), amp = _mm_set1_epi8('&');
      while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
        __m128i bad = _mm_cmpgt_epi8(space, v);  // v < 0x20 (or >= 0x80)
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, quote));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, bslash));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, lt));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, gt));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, amp));
        int mask = _mm_movemask_epi8(bad);
        if (mask != 0) {
          int k = __builtin_ctz(static_cast<unsigned>(mask));
          std::memcpy(dst, s + i, static_cast<size_t>(k));
          dst += k;
          i += static_cast<size_t>(k);
          break;
        }
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v);
        dst += 16;
        i += 16;
      }
      if (i >= n) break;
    }
#endif
    unsigned char b = s[i];
    if (kSafe.safe[b]) {
      // Copy a run of safe bytes.
      size_t j = i + 1;
#if defined(__SSE2__)
      const size_t lim = std::min(n, i + 16);  // back to the 16-byte loop
#else
      const size_t lim = n;
#endif
      while (j < lim && kSafe.safe[s[j]]) ++j;
      std::memcpy(dst, s + i, j - i);
      dst += j - i;
      i = j;
      continue;
    }
    if (b < 0x80) {
      *dst++ = '\\';
      switch (b) {
        case '\\': *dst++ = '\\'; break;
        case '"': *dst++ = '"'; break;
        case '\n': *dst++ = 'n'; break;
        case '\r': *dst++ = 'r'; break;
        default:
          *dst++ = 'u';
          *dst++ = '0';
          *dst++ = '0';
          *dst++ = kHex[b >> 4];
          *dst++ = kHex[b & 0xF];
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = utf8_len(s + i, n - i, &cp);
    if (len == 0) {
      std::memcpy(dst, "\\ufffd", 6);
      dst += 6;
      ++i;
      continue;
    }
    if (cp == 0x2028 || cp == 0x2029) {
      std::memcpy(dst, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
      dst += 6;
      i += len;
      continue;
    }
    std::memcpy(dst, s + i, len);
    dst += len;
    i += len;
  }
  *dst++ = '"';
  return dst;
}

void append_json_string(std::string& out, std::string_view sv) {
  std::string tmp(6 * sv.size() + 2, '\0');
  char* end = encode_json_string(tmp.data(), sv);
  out.append(tmp.data(), static_cast<size_t>(end - tmp.data()));
}

std::string rfc3339_nano_fixed(int64_t unix_nano) {
  char buf[48];
  return std::string(buf, timeutil::format_rfc3339(buf, unix_nano, true));
}

void append_json_log_line(std::string& out, Stream s, std::string_view payload, int64_t time_ns) {
  out.append("{\"log\":");
  append_json_string(out, payload);
  out.append(",\"stream\":\"");
  out.append(stream_name(s));
  out.append("\",\"time\":\"");
  char buf[48];
  out.append(buf, timeutil::format_rfc3339(buf, time_ns, false));
  out.append("\"}\n");
}

// ------------------------------------------------------------- writer

Result<std::unique_ptr<JsonFileWriter>> JsonFileWriter::open(const std::string& path,
                                                             Options opts) {
  RotatingFile::Options ro;
  ro.max_size = opts.max_size;
  ro.max_file = opts.max_file;
  ro.compress = opts.compress;
  ro.mode = opts.mode;
  auto f = BERTH_TRY(RotatingFile::open(path, ro));
  // Room for flush_threshold bytes plus the largest entry append_line makes
  // (a kMaxLineBytes payload, every byte escaped as \uXXXX).
  size_t cap = opts.flush_threshold + 6 * kMaxLineBytes + 2 + opts.attrs_json.size() + 128;
  cap = (cap + 4095) & ~size_t{4095};
  void* m = ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return sys_error("mmap log buffer");
  auto w = std::unique_ptr<JsonFileWriter>(new JsonFileWriter(std::move(f), std::move(opts)));
  w->out_ = static_cast<char*>(m);
  w->out_cap_ = cap;
  return w;
}

JsonFileWriter::~JsonFileWriter() {
  if (out_) ::munmap(out_, out_cap_);
}

size_t JsonFileWriter::resident_bytes() const {
  std::vector<unsigned char> v(out_cap_ / 4096);
  if (::mincore(out_, out_cap_, v.data()) != 0) return 0;
  size_t n = 0;
  for (unsigned char b : v) n += (b & 1) ? 4096 : 0;
  return n;
}

void JsonFileWriter::append_line(Stream s, std::string_view payload, int64_t time_ns) {
  if (time_ns != cached_time_ns_ || cached_time_len_ == 0) {
    // The date and time of day are formatted once per second; each new
    // stamp only rewrites the fraction (RFC3339Nano: trailing zeros
    // dropped, no '.' for a whole second).
    int64_t sec = time_ns / 1000000000, frac = time_ns % 1000000000;
    if (frac < 0) {
      frac += 1000000000;
      --sec;
    }
    if (cached_time_len_ == 0 || sec != cached_sec_) {
      (void)timeutil::format_rfc3339(cached_time_, sec * 1000000000, true);
      cached_sec_ = sec;
    }
    size_t n = 19;  // "YYYY-MM-DDTHH:MM:SS"
    if (frac != 0) {
      char digits[9];
      for (int k = 8; k >= 0; --k) {
        digits[k] = static_cast<char>('0' + frac % 10);
        frac /= 10;
      }
      size_t len = 9;
      while (digits[len - 1] == '0') --len;
      cached_time_[n++] = '.';
      std::memcpy(cached_time_ + n, digits, len);
      n += len;
    }
    cached_time_[n++] = 'Z';
    cached_time_len_ = n;
    cached_time_ns_ = time_ns;
  }
  size_t need = 6 * payload.size() + 96 + opts_.attrs_json.size() + 10;
  // Payloads are at most kMaxLineBytes (write() cuts them): one entry fits
  // the capacity once the buffer is written out.
  if (out_len_ + need > out_cap_) (void)write_out();
  char* d = out_ + out_len_;
  std::memcpy(d, "{\"log\":", 7);
  d = encode_json_string(d + 7, payload);
  std::string_view mid = s == Stream::err  ? std::string_view(",\"stream\":\"stderr\",\"time\":\"")
                         : s == Stream::in ? std::string_view(",\"stream\":\"stdin\",\"time\":\"")
                                           : std::string_view(",\"stream\":\"stdout\",\"time\":\"");
  if (opts_.attrs_json.empty()) {
    std::memcpy(d, mid.data(), mid.size());
    d += mid.size();
  } else {
    // {"log":…,"stream":"stdout","attrs":{…},"time":…} as moby's jsonlog.
    std::string_view stream = mid.substr(0, mid.size() - 9);  // without ,"time":"
    std::memcpy(d, stream.data(), stream.size());
    d += stream.size();
    std::memcpy(d, ",\"attrs\":", 9);
    d += 9;
    std::memcpy(d, opts_.attrs_json.data(), opts_.attrs_json.size());
    d += opts_.attrs_json.size();
    std::memcpy(d, ",\"time\":\"", 9);
    d += 9;
  }
  std::memcpy(d, cached_time_, cached_time_len_);
  d += cached_time_len_;
  std::memcpy(d, "\"}\n", 3);
  d += 3;
  out_len_ = static_cast<size_t>(d - out_);
  if (out_len_ > high_water_) high_water_ = out_len_;
}

Status JsonFileWriter::write(Stream s, std::string_view data, int64_t now_ns) {
  std::string& p = partial_[static_cast<int>(s) % 3];
  while (!data.empty()) {
    const void* nlp = std::memchr(data.data(), '\n', data.size());
    size_t seg = nlp ? static_cast<size_t>(static_cast<const char*>(nlp) - data.data())
                     : data.size();
    // Bytes before the newline (or all of data): cut every kMaxLineBytes.
    while (p.size() + seg >= kMaxLineBytes) {
      size_t take = kMaxLineBytes - p.size();
      if (p.empty()) {
        append_line(s, data.substr(0, take), now_ns);
      } else {
        p.append(data.data(), take);
        append_line(s, p, now_ns);
        p.clear();
      }
      data.remove_prefix(take);
      seg -= take;
    }
    if (!nlp) {
      p.append(data.data(), data.size());
      break;
    }
    // Complete line: p + data[0..seg] + '\n'.
    if (p.empty()) {
      append_line(s, data.substr(0, seg + 1), now_ns);
    } else {
      p.append(data.data(), seg + 1);
      append_line(s, p, now_ns);
      p.clear();
    }
    data.remove_prefix(seg + 1);
    // The buffer never holds much more than flush_threshold, however many
    // chunks the caller hands over between flushes (the shim's RSS budget).
    if (out_len_ >= opts_.flush_threshold) BERTH_TRY_VOID(write_out());
  }
  return maybe_flush();
}

Status JsonFileWriter::maybe_flush() {
  if (out_len_ >= opts_.flush_threshold) return write_out();
  // With rotation, write as soon as the file would reach max-size so files
  // stay close to it (Docker rotates before the write that follows).
  if (opts_.max_size > 0 && file_.size() + static_cast<int64_t>(out_len_) >= opts_.max_size) return write_out();
  return ok();
}

Status JsonFileWriter::flush() { return write_out(); }

// The buffer's pages past kKeepResident (and past what is pending) go back
// to the kernel. Not on every flush: re-faulting the buffer after each 2 ms
// timer flush tripled the shim's CPU per MB on this (paravirtualised) VM.
void JsonFileWriter::trim() {
  size_t keep = (std::max(out_len_, kKeepResident) + 4095) & ~size_t{4095};
  size_t hw = (high_water_ + 4095) & ~size_t{4095};
  if (hw > keep) (void)::madvise(out_ + keep, hw - keep, MADV_DONTNEED);
  high_water_ = out_len_;
}

Status JsonFileWriter::write_out() {
  if (out_len_ == 0) return ok();
  Status st = ok();
  if (opts_.max_size > 0) {
    // Whole entries per file: cut the batch at line ends, rotating when the
    // current file has reached max-size.
    std::string_view rest(out_, out_len_);
    while (!rest.empty() && st) {
      if (file_.due()) {
        st = file_.rotate(cached_time_ns_);
        if (!st) break;
      }
      int64_t room = opts_.max_size - file_.size();
      size_t cut = rest.size();
      if (static_cast<int64_t>(rest.size()) > room) {
        // Up to the first line end at or after `room` bytes.
        size_t nl = rest.find('\n', room > 0 ? static_cast<size_t>(room) - 1 : 0);
        cut = nl == std::string_view::npos ? rest.size() : nl + 1;
      }
      st = file_.append(rest.substr(0, cut));
      rest.remove_prefix(cut);
    }
  } else {
    st = file_.append(std::string_view(out_, out_len_));
  }
  out_len_ = 0;
  if (!st) return std::move(st).error().wrap("write log");
  return ok();
}

Status JsonFileWriter::close(int64_t now_ns) {
  for (int i = 0; i < 3; ++i) {
    if (!partial_[i].empty()) {
      append_line(static_cast<Stream>(i), partial_[i], now_ns);
      partial_[i].clear();
      partial_[i].shrink_to_fit();
    }
  }
  Status st = flush();
  trim();
  file_.wait_compression();  // the rotated file is complete before the shim reports the exit
  return st;
}

// ------------------------------------------------------------- reader

Result<LogEntry> parse_json_log_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  LogEntry e;
  LineParser p(line);
  if (!p.parse(&e)) return make_error(Errc::invalid, "malformed json-file log line");
  return e;
}

Result<JsonFileReader> JsonFileReader::open(const std::string& path, LogFormat format) {
  JsonFileReader r;
  r.path_ = path;
  r.format_ = format;
  int in = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (in >= 0) r.inotify_.reset(in);
  BERTH_TRY_VOID(r.ensure_open());
  return r;
}

JsonFileReader JsonFileReader::over_fd(UniqueFd fd, LogFormat format) {
  JsonFileReader r;
  r.fd_ = std::move(fd);
  r.format_ = format;
  return r;
}

Status JsonFileReader::ensure_open() {
  if (fd_ || path_.empty()) return ok();
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return ok();  // not yet created
    return sys_error("open log file " + path_);
  }
  fd_.reset(fd);
  watch_current();
  return ok();
}

void JsonFileReader::drain_inotify() {
  if (!inotify_) return;
  char buf[4096];
  while (::read(inotify_.get(), buf, sizeof buf) > 0) {
  }
}

// Filters one decoded entry; false when reading must stop.
static bool deliver(const LogEntry& e, const ReadOptions& opts, const EntrySink& sink, size_t* emitted,
                    bool* past_until) {
  if (opts.until_ns != 0 && e.time_ns > opts.until_ns) {
    *past_until = true;
    return false;
  }
  bool wanted = (e.stream == Stream::err) ? opts.want_stderr : opts.want_stdout;
  if (wanted && (opts.since_ns == 0 || e.time_ns >= opts.since_ns)) {
    ++*emitted;
    return sink(e);
  }
  return true;
}

static uint32_t be32(const char* p) {
  auto u = [&](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3);
}

// Frames bigger than this are corruption (moby's maxMsgLen is 1 MB).
constexpr uint32_t kMaxLocalRecord = 4 * 1024 * 1024;

Result<bool> JsonFileReader::emit_local(int64_t start, const ReadOptions& opts, const EntrySink& sink,
                                        size_t* emitted) {
  int64_t end = BERTH_TRY(file_size(fd_.get()));
  if (end < start) start = 0;  // truncated
  std::string buf;
  int64_t pos = start;
  offset_ = start;
  while (pos < end) {
    size_t want = static_cast<size_t>(std::min<int64_t>(256 * 1024, end - pos));
    size_t have = buf.size();
    buf.resize(have + want);
    ssize_t n = ::pread(fd_.get(), buf.data() + have, want, pos);
    if (n < 0 && errno == EINTR) {
      buf.resize(have);
      continue;
    }
    if (n < 0) return sys_error("read log file " + path_);
    bytes_read_ += n;
    buf.resize(have + static_cast<size_t>(n));
    if (n == 0) break;
    pos += n;
    size_t i = 0;
    while (buf.size() - i >= 8) {
      uint32_t len = be32(buf.data() + i);
      if (len > kMaxLocalRecord) return make_error(Errc::internal, "corrupt local log file " + path_);
      if (buf.size() - i < 8 + static_cast<size_t>(len)) break;
      auto le = decode_local_entry(std::string_view(buf.data() + i + 4, len));
      i += 8 + len;
      offset_ += 8 + len;
      if (!le) continue;
      bool past = false;
      if (!deliver(local_to_log_entry(*le), opts, sink, emitted, &past)) return true;
    }
    buf.erase(0, i);
  }
  return false;
}

Result<bool> JsonFileReader::emit_from(int64_t start, const ReadOptions& opts,
                                       const EntrySink& sink, size_t* emitted) {
  if (format_ == LogFormat::local) return emit_local(start, opts, sink, emitted);
  int64_t end = BERTH_TRY(file_size(fd_.get()));
  if (end < start) start = 0;  // truncated
  std::vector<char> buf(256 * 1024);
  std::string carry;
  int64_t pos = start;
  offset_ = start;
  LogEntry e;
  TimeCache tc;
  while (pos < end) {
    size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(buf.size()), end - pos));
    ssize_t n = ::pread(fd_.get(), buf.data(), want, pos);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read log file " + path_);
    }
    if (n == 0) break;
    bytes_read_ += n;
    pos += n;
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    while (!chunk.empty()) {
      const void* nlp = std::memchr(chunk.data(), '\n', chunk.size());
      if (!nlp) {
        carry.append(chunk);
        break;
      }
      size_t len = static_cast<size_t>(static_cast<const char*>(nlp) - chunk.data());
      std::string_view line;
      if (carry.empty()) {
        line = chunk.substr(0, len);
      } else {
        carry.append(chunk.substr(0, len));
        line = carry;
      }
      chunk.remove_prefix(len + 1);
      offset_ += static_cast<int64_t>(line.size()) + 1;
      bool keep = true;
      if (!line.empty()) {
        e.payload.clear();
        LineParser p(line, &tc);
        if (p.parse(&e)) {
          if (opts.until_ns != 0 && e.time_ns > opts.until_ns) return true;
          bool wanted = (e.stream == Stream::err) ? opts.want_stderr : opts.want_stdout;
          if (wanted && (opts.since_ns == 0 || e.time_ns >= opts.since_ns)) {
            ++*emitted;
            keep = sink(e);
          }
        }
      }
      carry.clear();
      if (!keep) return true;
    }
  }
  return false;
}

namespace {

// Complete lines in a file (its '\n' count).
int64_t count_lines(int fd) {
  std::vector<char> buf(256 * 1024);
  int64_t pos = 0, n = 0;
  for (;;) {
    ssize_t r = ::pread(fd, buf.data(), buf.size(), pos);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (ssize_t i = 0; i < r; ++i) n += buf[static_cast<size_t>(i)] == '\n';
    pos += r;
  }
  return n;
}

// Walks a local-format file back from its end by the trailing lengths, over
// at most `limit` records. Returns the records found; *start is the offset
// of the earliest one reached (0 when the walk reached the file's start or
// met an inconsistent frame).
int64_t walk_back_local(int fd, int64_t size, int64_t limit, int64_t* start) {
  int64_t off = size, found = 0;
  char b[4];
  while (off >= 8 && found < limit) {
    if (::pread(fd, b, 4, off - 4) != 4) break;
    uint32_t len = be32(b);
    int64_t rec = off - 8 - static_cast<int64_t>(len);
    if (len > kMaxLocalRecord || rec < 0 || ::pread(fd, b, 4, rec) != 4 || be32(b) != len) {
      off = 0;  // damaged: read it all
      break;
    }
    off = rec;
    ++found;
  }
  *start = off;
  return found;
}

int64_t count_entries(int fd, LogFormat f, int64_t limit) {
  if (f == LogFormat::json) return count_lines(fd);
  int64_t start = 0;
  return walk_back_local(fd, file_size(fd).value_or(0), limit, &start);
}

// The offset of a line start at or before the first entry with time >=
// since_ns, found by bisection on line timestamps (entries are written in
// time order), so `logs --since` does not scan the whole file. 0 when the
// file cannot be bisected.
int64_t since_offset(int fd, int64_t size, int64_t since_ns, int64_t* bytes_read) {
  int64_t lo = 0, hi = size;
  std::vector<char> buf(256 * 1024);
  LogEntry e;
  for (int guard = 0; guard < 64 && hi - lo > static_cast<int64_t>(buf.size()); ++guard) {
    int64_t mid = lo + (hi - lo) / 2;
    ssize_t r = ::pread(fd, buf.data(), buf.size(), mid);
    if (r <= 0) break;
    *bytes_read += r;
    std::string_view chunk(buf.data(), static_cast<size_t>(r));
    size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) break;
    size_t end = chunk.find('\n', nl + 1);
    if (end == std::string_view::npos) break;
    LineParser p(chunk.substr(nl + 1, end - nl - 1));
    e.payload.clear();
    if (!p.parse(&e)) break;
    int64_t line_start = mid + static_cast<int64_t>(nl) + 1;
    if (e.time_ns < since_ns)
      lo = line_start;
    else
      hi = mid;
  }
  return lo;
}

// The local format has no line ends to resynchronise on: a record
// boundary at or after `from` is an offset whose leading length matches
// the trailing one, whose entry decodes, and which is followed by up to two
// more such records (or the file's end); records are at most ~16 KiB (lines
// are cut into partial entries), so a 64 KiB window at `from` holds one.
// Returns the boundary (and its entry's time in *time_ns) or -1.
int64_t local_boundary_at(int fd, int64_t from, int64_t size, std::vector<char>& buf, int64_t* time_ns,
                          int64_t* bytes_read) {
  ssize_t n = ::pread(fd, buf.data(), buf.size(), from);
  if (n <= 0) return -1;
  *bytes_read += n;
  const int64_t have = n;
  auto len_at = [&](int64_t off, uint32_t* len) {  // off relative to `from`
    if (off + 4 <= have) {
      *len = be32(buf.data() + off);
      return true;
    }
    char b[4];
    if (::pread(fd, b, 4, from + off) != 4) return false;
    *bytes_read += 4;
    *len = be32(b);
    return true;
  };
  // A consistent frame at `off`: its length; 0 if not one.
  auto frame = [&](int64_t off) -> int64_t {
    uint32_t len = 0, trail = 0;
    if (!len_at(off, &len) || len > kMaxLocalRecord || from + off + 8 + len > size) return 0;
    if (!len_at(off + 4 + len, &trail) || trail != len) return 0;
    return 8 + static_cast<int64_t>(len);
  };
  for (int64_t p = 0; p + 8 <= have; ++p) {
    int64_t f = frame(p);
    if (f == 0) continue;
    int64_t q = p + f;
    bool chained = true;
    for (int k = 0; k < 2 && from + q < size; ++k) {
      int64_t g = frame(q);
      if (g == 0) {
        chained = false;
        break;
      }
      q += g;
    }
    if (!chained) continue;
    std::string proto;
    uint32_t len = static_cast<uint32_t>(f - 8);
    if (p + f <= have) {
      proto.assign(buf.data() + p + 4, len);
    } else {
      proto.resize(len);
      if (::pread(fd, proto.data(), len, from + p + 4) != static_cast<ssize_t>(len)) return -1;
      *bytes_read += len;
    }
    auto le = decode_local_entry(proto);
    if (!le) continue;
    *time_ns = le->time_nano;
    return from + p;
  }
  return -1;
}

// since_offset for the local format: the offset of a record boundary at
// or before the first entry with time >= since_ns, by bisection.
int64_t local_since_offset(int fd, int64_t size, int64_t since_ns, int64_t* bytes_read) {
  std::vector<char> buf(64 * 1024);
  int64_t lo = 0, hi = size;  // records before lo are < since; the first >= since starts before hi
  for (int guard = 0; guard < 64 && hi - lo > static_cast<int64_t>(buf.size()); ++guard) {
    int64_t mid = lo + (hi - lo) / 2;
    int64_t t = 0;
    int64_t b = local_boundary_at(fd, mid, size, buf, &t, bytes_read);
    if (b < 0 || b >= hi) {
      hi = mid;  // no record starts in [mid, hi)
    } else if (t < since_ns) {
      lo = b;
    } else {
      hi = b;
    }
  }
  return lo;
}

}  // namespace

// A rotated file for reading: PATH.i as is, PATH.i.gz decompressed (or
// nothing when its lastTime says it ends before `since`).
Result<std::optional<JsonFileReader>> JsonFileReader::open_rotated(const std::string& file,
                                                                   const ReadOptions& opts) const {
  std::string gz = file;
  if (!is_gz(file)) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) return std::optional<JsonFileReader>(over_fd(std::move(fd), format_));
    if (errno != ENOENT) return sys_error("open log file " + file);
    gz = file + ".gz";  // compressed meanwhile
  }
  if (opts.since_ns > 0) {
    int64_t last = gz_last_time(gz);
    if (last > 0 && last < opts.since_ns) return std::optional<JsonFileReader>();
  }
  auto mem = gunzip_to_memfd(gz);
  if (!mem) {
    if (!fs::exists(gz)) return std::optional<JsonFileReader>();  // rotated out meanwhile
    return std::move(mem).error();
  }
  return std::optional<JsonFileReader>(over_fd(std::move(*mem), format_));
}

Status JsonFileReader::read_existing(const ReadOptions& opts, const EntrySink& sink) {
  BERTH_TRY_VOID(ensure_open());
  std::vector<std::string> rotated;
  if (!path_.empty() && opts.tail != 0) rotated = rotated_log_files(path_);
  if (rotated.empty()) return read_existing_one(opts, sink);
  // Older files first (oldest to newest), then the current one.
  bool stopped = false;
  auto wrapped = [&](const LogEntry& e) {
    bool keep = sink(e);
    if (!keep) stopped = true;
    return keep;
  };
  std::vector<std::pair<JsonFileReader, int64_t>> plan;  // file, tail for it
  if (opts.tail > 0) {
    int64_t have = fd_ ? count_entries(fd_.get(), format_, opts.tail) : 0;
    int64_t need = opts.tail - have;
    for (auto it = rotated.rbegin(); it != rotated.rend() && need > 0; ++it) {
      auto r = BERTH_TRY(open_rotated(*it, opts));
      if (!r) continue;
      int64_t n = count_entries(r->fd_.get(), format_, need);
      plan.insert(plan.begin(), {std::move(*r), n >= need ? need : -1});
      need -= n;
    }
  } else {
    for (const auto& f : rotated) {
      auto r = BERTH_TRY(open_rotated(f, opts));
      if (r) plan.emplace_back(std::move(*r), -1);
    }
  }
  for (auto& [r, tail] : plan) {
    ReadOptions o = opts;
    o.tail = tail;
    BERTH_TRY_VOID(r.read_existing_one(o, wrapped));
    if (stopped) {
      // Leave the follow position at the current file's end.
      if (fd_) offset_ = BERTH_TRY(file_size(fd_.get()));
      return ok();
    }
  }
  ReadOptions o = opts;
  if (!plan.empty()) o.tail = -1;
  return read_existing_one(o, sink);
}

Status JsonFileReader::read_existing_one(const ReadOptions& opts, const EntrySink& sink) {
  if (!fd_) return ok();
  int64_t start = 0;
  if (format_ == LogFormat::local) {
    int64_t size = BERTH_TRY(file_size(fd_.get()));
    if (opts.tail >= 0) {
      // Back over `tail` records by their trailing lengths (0: to the end).
      walk_back_local(fd_.get(), size, opts.tail, &start);
      if (opts.tail == 0) {
        offset_ = start;
        return ok();
      }
    } else if (opts.since_ns > 0) {
      start = local_since_offset(fd_.get(), size, opts.since_ns, &bytes_read_);
    }
    size_t emitted = 0;
    BERTH_TRY(emit_from(start, opts, sink, &emitted));
    return ok();
  }
  if (opts.tail < 0 && opts.since_ns > 0) {
    int64_t size = BERTH_TRY(file_size(fd_.get()));
    start = since_offset(fd_.get(), size, opts.since_ns, &bytes_read_);
  }
  if (opts.tail == 0) {
    // Nothing to print; position at the end of the last complete line.
    int64_t size = BERTH_TRY(file_size(fd_.get()));
    start = size;
    char c;
    while (start > 0 && ::pread(fd_.get(), &c, 1, start - 1) == 1 && c != '\n') --start;
    offset_ = start;
    return ok();
  }
  if (opts.tail > 0) {
    int64_t size = BERTH_TRY(file_size(fd_.get()));
    // Find the end of the last complete line, then walk back `tail` lines.
    std::vector<char> buf(64 * 1024);
    int64_t pos = size;
    int64_t end = -1;
    int64_t need = opts.tail;
    start = 0;
    bool found = false;
    while (pos > 0 && !found) {
      size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(buf.size()), pos));
      pos -= static_cast<int64_t>(want);
      ssize_t n = ::pread(fd_.get(), buf.data(), want, pos);
      if (n != static_cast<ssize_t>(want)) return sys_error("read log file " + path_);
      for (int64_t i = static_cast<int64_t>(want) - 1; i >= 0; --i) {
        if (buf[static_cast<size_t>(i)] != '\n') continue;
        int64_t at = pos + i;
        if (end < 0) {
          end = at + 1;
          continue;
        }
        if (--need == 0) {
          start = at + 1;
          found = true;
          break;
        }
      }
    }
  }
  size_t emitted = 0;
  BERTH_TRY(emit_from(start, opts, sink, &emitted));
  return ok();
}

Result<size_t> JsonFileReader::read_new(const ReadOptions& opts, const EntrySink& sink,
                                        bool* stopped) {
  *stopped = false;
  BERTH_TRY_VOID(ensure_open());
  if (!fd_) return size_t{0};
  size_t emitted = 0;
  *stopped = BERTH_TRY(emit_from(offset_, opts, sink, &emitted));
  if (*stopped) return emitted;
  // Rotated away (max-size): the old file is drained; continue with the
  // new one from its start.
  struct stat now {}, cur {};
  if (::stat(path_.c_str(), &now) == 0 && ::fstat(fd_.get(), &cur) == 0 &&
      (now.st_ino != cur.st_ino || now.st_dev != cur.st_dev)) {
    // What was appended to the old file after the read above and before
    // the rotation: the old file is complete once the new one exists.
    *stopped = BERTH_TRY(emit_from(offset_, opts, sink, &emitted));
    if (*stopped) return emitted;
    // More than one rotation may have happened since the last call: the
    // files rotated after ours come first, oldest first, then the new
    // current file from its start.
    auto next = BERTH_TRY(files_after(static_cast<uint64_t>(cur.st_ino), opts));
    for (auto& r : next.rotated) {
      *stopped = BERTH_TRY(r.emit_from(0, opts, sink, &emitted));
      if (*stopped) {
        // Resume on the current file's start rather than re-read.
        fd_ = std::move(next.current);
        offset_ = 0;
        watch_current();
        return emitted;
      }
    }
    fd_ = std::move(next.current);
    offset_ = 0;
    watch_current();
    if (fd_) *stopped = BERTH_TRY(emit_from(0, opts, sink, &emitted));
  }
  return emitted;
}

Result<JsonFileReader::AfterRotation> JsonFileReader::files_after(uint64_t old_ino, const ReadOptions& opts) {
  AfterRotation out;
  // Open the current file, then the rotated ones; if the current file was
  // rotated meanwhile the names shifted under us: start over (bounded).
  for (int attempt = 0; attempt < 16; ++attempt) {
    out = AfterRotation{};
    out.current.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!out.current && errno != ENOENT) return sys_error("open log file " + path_);
    struct stat cst {};
    if (out.current && ::fstat(out.current.get(), &cst) != 0) return sys_error("fstat " + path_);
    std::vector<std::string> rotated = rotated_log_files(path_);
    // The newest file that is ours: an uncompressed file is ours by its
    // inode (held open by us, so not reused), a .gz by the inode recorded
    // in its header (an older .gz may name a since reused number, hence
    // the newest). Not found: ours was rotated out entirely, every rotated
    // file is newer.
    size_t first = 0;
    for (size_t i = 0; i < rotated.size(); ++i) {
      uint64_t ino = 0;
      if (is_gz(rotated[i])) {
        ino = gz_source_inode(rotated[i]);
      } else {
        struct stat st {};
        if (::stat(rotated[i].c_str(), &st) == 0) ino = static_cast<uint64_t>(st.st_ino);
      }
      if (ino == old_ino) first = i + 1;
    }
    for (size_t i = first; i < rotated.size(); ++i) {
      auto r = BERTH_TRY(open_rotated(rotated[i], opts));
      if (r) out.rotated.push_back(std::move(*r));
    }
    struct stat now {};
    bool same = out.current ? ::stat(path_.c_str(), &now) == 0 && now.st_ino == cst.st_ino
                            : ::stat(path_.c_str(), &now) != 0;
    if (same) break;
  }
  return out;
}

void JsonFileReader::watch_current() {
  if (fd_ && inotify_ &&
      ::inotify_add_watch(inotify_.get(), path_.c_str(), IN_MODIFY | IN_CLOSE_WRITE) < 0) {
    inotify_.reset();
  }
}

// ------------------------------------------------------------- follower

JsonFileFollower::JsonFileFollower(JsonFileReader reader, ReadOptions opts)
    : reader_(std::move(reader)), opts_(opts), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void JsonFileFollower::notify_exited() {
  exited_ = true;
  uint64_t one = 1;
  if (wake_) (void)!::write(wake_.get(), &one, sizeof one);
}

void JsonFileFollower::cancel() {
  cancelled_ = true;
  uint64_t one = 1;
  if (wake_) (void)!::write(wake_.get(), &one, sizeof one);
}

Status JsonFileFollower::run(const EntrySink& sink) {
  for (;;) {
    if (cancelled_) return ok();
    bool exited = exited_.load();
    bool stopped = false;
    BERTH_TRY(reader_.read_new(opts_, sink, &stopped));
    if (stopped || cancelled_) return ok();
    if (exited) return ok();  // drained after the exit was signalled
    pollfd pfd[2] = {{wake_.get(), POLLIN, 0}, {reader_.watch_fd(), POLLIN, 0}};
    int nfds = reader_.watch_fd() >= 0 ? 2 : 1;
    // With inotify, wake at least every second anyway (covers a file that
    // did not exist when the watch was set up); without, poll every 100 ms.
    int timeout = reader_.watch_fd() >= 0 ? 1000 : 100;
    int r = ::poll(pfd, static_cast<nfds_t>(nfds), timeout);
    if (r < 0 && errno != EINTR) return sys_error("poll");
    if (nfds == 2 && (pfd[1].revents & POLLIN)) reader_.drain_inotify();
    if (pfd[0].revents & POLLIN) {
      uint64_t v;
      (void)!::read(wake_.get(), &v, sizeof v);
    }
  }
}

// ------------------------------------------------------------ formatting

void append_stdcopy_frame(std::string& out, Stream s, std::string_view payload) {
  uint32_t n = static_cast<uint32_t>(payload.size());
  char hdr[8] = {static_cast<char>(s), 0, 0, 0, static_cast<char>(n >> 24),
                 static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(hdr, 8);
  out.append(payload);
}

namespace {
// Go's url.QueryEscape.
void query_escape(std::string& out, std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
}
}  // namespace

void append_log_entry(std::string& out, const LogEntry& e, bool raw, bool timestamps, bool details) {
  char ts[48];
  size_t tn = 0;
  if (timestamps) {
    tn = timeutil::format_rfc3339(ts, e.time_ns, true);
    ts[tn++] = ' ';
  }
  std::string det;
  if (details) {
    auto attrs = e.attrs;
    std::sort(attrs.begin(), attrs.end());
    for (size_t i = 0; i < attrs.size(); ++i) {
      if (i) det.push_back(',');
      query_escape(det, attrs[i].first);
      det.push_back('=');
      query_escape(det, attrs[i].second);
    }
    det.push_back(' ');
  }
  if (raw) {
    out.append(ts, tn);
    out.append(det);
    out.append(e.payload);
    return;
  }
  uint32_t n = static_cast<uint32_t>(tn + det.size() + e.payload.size());
  char hdr[8] = {static_cast<char>(e.stream), 0, 0, 0, static_cast<char>(n >> 24),
                 static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(hdr, 8);
  out.append(ts, tn);
  out.append(det);
  out.append(e.payload);
}

}  // namespace berth::logging
