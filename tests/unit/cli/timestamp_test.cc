// local_rfc3339: the one local-zone RFC 3339 formatter of history
// (time.RFC3339) and events (RFC3339NanoFixed).
#include "cli/timestamp.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <string>

namespace berth::cli {
namespace {

struct Zone {
  explicit Zone(const char* tz) {
    if (const char* old = std::getenv("TZ")) saved = old, had = true;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~Zone() {
    if (had) ::setenv("TZ", saved.c_str(), 1);
    else ::unsetenv("TZ");
    ::tzset();
  }
  std::string saved;
  bool had = false;
};

TEST(LocalRfc3339, SecondsAndFixedNanosInUtcAndOffsetZones) {
  const int64_t ns = 1764489600LL * 1000000000LL + 5000;  // 2025-11-30T08:00:00.000005Z
  {
    Zone z("UTC");
    EXPECT_EQ(local_rfc3339(ns, false), "2025-11-30T08:00:00Z");
    EXPECT_EQ(local_rfc3339(ns, true), "2025-11-30T08:00:00.000005000Z");
  }
  {
    Zone z("Asia/Kolkata");
    EXPECT_EQ(local_rfc3339(ns, false), "2025-11-30T13:30:00+05:30");
    EXPECT_EQ(local_rfc3339(ns, true), "2025-11-30T13:30:00.000005000+05:30");
  }
  {
    Zone z("America/New_York");
    EXPECT_EQ(local_rfc3339(ns, false), "2025-11-30T03:00:00-05:00");
  }
}

}  // namespace
}  // namespace berth::cli
