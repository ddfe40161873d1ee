#include "cli/timestamp.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "common/strings.h"
#include "common/time.h"

namespace berth::cli {

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }


struct Parsed {
  int64_t unix_ns;
};

// YYYY-MM-DD[THH[:MM[:SS[.frac]]]][Z|±HH:MM]
Result<Parsed> parse_timestamp(std::string_view v, int64_t local_offset_s) {
  auto bad = [&] { return make_error(Errc::invalid, "parsing time \"" + std::string(v) + "\": invalid format"); };
  auto num = [&](std::string_view s, size_t pos, size_t n, int64_t* out) {
    if (pos + n > s.size()) return false;
    int64_t x = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!digit(s[pos + i])) return false;
      x = x * 10 + (s[pos + i] - '0');
    }
    *out = x;
    return true;
  };
  int64_t y, mo, d, h = 0, mi = 0, s = 0, frac_ns = 0;
  if (!num(v, 0, 4, &y) || v.size() < 10 || v[4] != '-' || !num(v, 5, 2, &mo) || v[7] != '-' || !num(v, 8, 2, &d))
    return bad();
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return bad();
  size_t p = 10;
  if (p < v.size() && v[p] == 'T') {
    if (!num(v, p + 1, 2, &h)) return bad();
    p += 3;
    if (p < v.size() && v[p] == ':') {
      if (!num(v, p + 1, 2, &mi)) return bad();
      p += 3;
      if (p < v.size() && v[p] == ':') {
        if (!num(v, p + 1, 2, &s)) return bad();
        p += 3;
        if (p < v.size() && v[p] == '.') {
          ++p;
          int64_t scale = 100000000;
          size_t start = p;
          while (p < v.size() && digit(v[p])) {
            if (scale > 0) frac_ns += (v[p] - '0') * scale;
            scale /= 10;
            ++p;
          }
          if (p == start) return bad();
        }
      }
    }
    if (h > 23 || mi > 59 || s > 60) return bad();
  }
  int64_t offset = local_offset_s;
  if (p < v.size()) {
    if (v[p] == 'Z' || v[p] == 'z') {
      offset = 0;
      ++p;
    } else if (v[p] == '+' || v[p] == '-') {
      int64_t oh, om;
      if (!num(v, p + 1, 2, &oh) || p + 3 >= v.size() || v[p + 3] != ':' || !num(v, p + 4, 2, &om)) return bad();
      offset = (oh * 3600 + om * 60) * (v[p] == '-' ? -1 : 1);
      p += 6;
    }
  }
  if (p != v.size()) return bad();
  int64_t secs = timeutil::days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
                 mi * 60 + s - offset;
  return Parsed{secs * 1000000000LL + frac_ns};
}

}  // namespace

Result<int64_t> parse_go_duration(std::string_view s) {
  auto bad = [&] { return make_error(Errc::invalid, "time: invalid duration \"" + std::string(s) + "\""); };
  std::string_view orig = s;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return bad();
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (digit(s[i]) || s[i] == '.')) ++i;
    if (i == 0) return bad();
    std::string numtxt(s.substr(0, i));
    if (numtxt == "." || std::count(numtxt.begin(), numtxt.end(), '.') > 1) return bad();
    long double n = std::strtold(numtxt.c_str(), nullptr);
    s.remove_prefix(i);
    size_t j = 0;
    while (j < s.size() && !digit(s[j]) && s[j] != '.') ++j;
    std::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    long double mult;
    if (unit == "ns") mult = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") mult = 1e3;
    else if (unit == "ms") mult = 1e6;
    else if (unit == "s") mult = 1e9;
    else if (unit == "m") mult = 60e9;
    else if (unit == "h") mult = 3600e9;
    else if (unit.empty()) return make_error(Errc::invalid, "time: missing unit in duration \"" + std::string(orig) + "\"");
    else return make_error(Errc::invalid, "time: unknown unit \"" + std::string(unit) + "\" in duration \"" + std::string(orig) + "\"");
    total += n * mult;
  }
  if (total > 9.2e18L) return bad();
  int64_t ns = static_cast<int64_t>(total);
  return neg ? -ns : ns;
}

int64_t local_utc_offset(int64_t unix_s) {
  time_t t = static_cast<time_t>(unix_s);
  struct tm lt {};
  if (!::localtime_r(&t, &lt)) return 0;
  return lt.tm_gmtoff;
}

Result<std::string> get_timestamp(std::string_view value, int64_t now_ns, int64_t local_offset_s) {
  if (value != "0") {
    if (auto d = parse_go_duration(value)) {
      int64_t t = now_ns - *d;
      // Go's Time.Unix() floors.
      int64_t secs = t >= 0 ? t / 1000000000LL : -((-t + 999999999LL) / 1000000000LL);
      return std::to_string(secs);
    }
  }
  auto p = parse_timestamp(value, local_offset_s);
  if (p) {
    int64_t ns = p->unix_ns;
    int64_t secs = ns >= 0 ? ns / 1000000000LL : -((-ns + 999999999LL) / 1000000000LL);
    int64_t rem = ns - secs * 1000000000LL;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(secs), static_cast<long long>(rem));
    return std::string(buf);
  }
  if (value.find('-') != std::string_view::npos) return std::move(p).error();
  // A unix timestamp: seconds with an optional fraction, passed as is.
  size_t dot = value.find('.');
  auto whole = str::parse_int(value.substr(0, dot));
  bool frac_ok = true;
  if (dot != std::string_view::npos) {
    std::string_view f = value.substr(dot + 1);
    if (f.empty() || f.size() > 9) frac_ok = false;
    for (char c : f) frac_ok = frac_ok && digit(c);
  }
  if (!whole || !frac_ok)
    return make_error(Errc::invalid, "failed to parse value as time or duration: \"" + std::string(value) + "\"");
  return std::string(value);
}

std::string local_rfc3339(int64_t unix_ns, bool nanos) {
  int64_t s = unix_ns >= 0 ? unix_ns / 1000000000LL : (unix_ns - 999999999LL) / 1000000000LL;
  int64_t frac = unix_ns - s * 1000000000LL;
  int64_t off = local_utc_offset(s);
  int64_t t = s + off;
  int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  int64_t sod = t - days * 86400;
  int y;
  unsigned m, d;
  timeutil::civil_from_days(days, &y, &m, &d);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", y, m, d, static_cast<int>(sod / 3600),
                static_cast<int>(sod / 60 % 60), static_cast<int>(sod % 60));
  std::string out = buf;
  if (nanos) {
    std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(frac));
    out += buf;
  }
  if (off == 0) return out + "Z";
  int64_t a = off < 0 ? -off : off;
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", off < 0 ? '-' : '+', static_cast<int>(a / 3600),
                static_cast<int>(a / 60 % 60));
  return out + buf;
}

}  // namespace berth::cli
