#include "common/time.h"

#include <ctime>

#include "common/strings.h"

namespace berth::timeutil {

int64_t now_unix_nano() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

std::string rfc3339_nano(int64_t unix_nano) {
  time_t secs = static_cast<time_t>(unix_nano / 1000000000LL);
  long ns = static_cast<long>(unix_nano % 1000000000LL);
  if (ns < 0) {
    ns += 1000000000L;
    secs -= 1;
  }
  tm t{};
  ::gmtime_r(&secs, &t);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  std::string out(buf, n);
  if (ns != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09ld", ns);
    std::string f(frac);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += 'Z';
  return out;
}

Result<int64_t> parse_rfc3339(std::string_view s) {
  auto bad = [&] { return make_error(Errc::invalid, "invalid time \"" + std::string(s) + "\""); };
  if (s.size() < 20) return bad();
  auto num = [&](size_t pos, size_t len) -> int {
    auto v = str::parse_int(s.substr(pos, len));
    return v ? static_cast<int>(*v) : -1;
  };
  tm t{};
  t.tm_year = num(0, 4) - 1900;
  t.tm_mon = num(5, 2) - 1;
  t.tm_mday = num(8, 2);
  t.tm_hour = num(11, 2);
  t.tm_min = num(14, 2);
  t.tm_sec = num(17, 2);
  if (t.tm_year < -1900 || t.tm_mon < 0 || t.tm_mday < 0 || t.tm_hour < 0 || t.tm_min < 0 ||
      t.tm_sec < 0 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':')
    return bad();
  size_t i = 19;
  int64_t ns = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int64_t scale = 100000000;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ns += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
  }
  int64_t off = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 <= s.size() && (s[i] == '+' || s[i] == '-')) {
    int h = num(i + 1, 2), m = num(i + 4, 2);
    if (h < 0 || m < 0) return bad();
    off = (h * 3600 + m * 60) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return bad();
  }
  if (i != s.size()) return bad();
  time_t secs = ::timegm(&t) - off;
  return static_cast<int64_t>(secs) * 1000000000LL + ns;
}

}  // namespace berth::timeutil
