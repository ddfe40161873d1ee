#include "common/time.h"

#include <cstring>
#include <ctime>

namespace berth::timeutil {

namespace {
int digit(char c) { return c >= '0' && c <= '9' ? c - '0' : -1; }
}  // namespace

int64_t now_unix_nano() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// Howard Hinnant's civil-date algorithms.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (*m <= 2));
}


size_t format_rfc3339(char* buf, int64_t unix_nano, bool fixed) {
  int64_t secs = unix_nano / 1000000000LL;
  int64_t ns = unix_nano % 1000000000LL;
  if (ns < 0) {
    ns += 1000000000LL;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  int y;
  unsigned mo, d;
  civil_from_days(days, &y, &mo, &d);
  auto put2 = [](char* p, unsigned v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  if (y < 0) y = 0;
  if (y > 9999) y = 9999;
  buf[0] = static_cast<char>('0' + y / 1000);
  buf[1] = static_cast<char>('0' + y / 100 % 10);
  buf[2] = static_cast<char>('0' + y / 10 % 10);
  buf[3] = static_cast<char>('0' + y % 10);
  buf[4] = '-';
  put2(buf + 5, mo);
  buf[7] = '-';
  put2(buf + 8, d);
  buf[10] = 'T';
  put2(buf + 11, static_cast<unsigned>(rem / 3600));
  buf[13] = ':';
  put2(buf + 14, static_cast<unsigned>(rem / 60 % 60));
  buf[16] = ':';
  put2(buf + 17, static_cast<unsigned>(rem % 60));
  size_t n = 19;
  if (fixed || ns != 0) {
    buf[n++] = '.';
    char frac[9];
    int64_t v = ns;
    for (int i = 8; i >= 0; --i) {
      frac[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    int len = 9;
    if (!fixed)
      while (len > 0 && frac[len - 1] == '0') --len;
    std::memcpy(buf + n, frac, static_cast<size_t>(len));
    n += static_cast<size_t>(len);
  }
  buf[n++] = 'Z';
  return n;
}


bool parse_rfc3339_to(std::string_view s, int64_t* out) {
  if (s.size() < 20) return false;
  auto num = [&](size_t pos, size_t len, int* v) {
    int r = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      int dd = digit(s[i]);
      if (dd < 0) return false;
      r = r * 10 + dd;
    }
    *v = r;
    return true;
  };
  int y, mo, d, h, mi, se;
  if (!num(0, 4, &y) || s[4] != '-' || !num(5, 2, &mo) || s[7] != '-' || !num(8, 2, &d) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !num(11, 2, &h) || s[13] != ':' || !num(14, 2, &mi) ||
      s[16] != ':' || !num(17, 2, &se))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return false;
  size_t i = 19;
  int64_t ns = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int64_t scale = 100000000;
    while (i < s.size() && digit(s[i]) >= 0) {
      ns += digit(s[i]) * scale;
      scale /= 10;
      ++i;
    }
  }
  int64_t off = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 <= s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!num(i + 1, 2, &oh) || s[i + 3] != ':' || !num(i + 4, 2, &om)) return false;
    off = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return false;
  }
  if (i != s.size()) return false;
  int64_t secs = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
                 h * 3600 + mi * 60 + se - off;
  *out = secs * 1000000000LL + ns;
  return true;
}

std::string rfc3339_nano(int64_t unix_nano) {
  char buf[48];
  return std::string(buf, format_rfc3339(buf, unix_nano, false));
}

Result<int64_t> parse_rfc3339(std::string_view s) {
  int64_t v = 0;
  if (!parse_rfc3339_to(s, &v)) return make_error(Errc::invalid, "invalid time \"" + std::string(s) + "\"");
  return v;
}

}  // namespace berth::timeutil
