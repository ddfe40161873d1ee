// Time formatting as Docker prints it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::timeutil {

int64_t now_unix_nano();
// RFC 3339 with nanoseconds, UTC, trailing zeros trimmed as Go's RFC3339Nano
// ("2026-11-29T19:48:21.123456789Z").
std::string rfc3339_nano(int64_t unix_nano);
// Parse RFC 3339 (with optional fraction, Z or +hh:mm) into unix nanoseconds.
Result<int64_t> parse_rfc3339(std::string_view s);
// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t days, int* y, unsigned* m, unsigned* d);
// Allocation-free forms for hot paths (log files): format into buf (at
// least 40 bytes; `fixed_nanos` keeps all 9 fraction digits, as Docker's
// `logs -t`), returning the length; parse, returning false when invalid.
size_t format_rfc3339(char* buf, int64_t unix_nano, bool fixed_nanos);
bool parse_rfc3339_to(std::string_view s, int64_t* out);
// "0001-01-01T00:00:00Z", Go's zero time, as Docker prints unset times.
inline const char* kZeroTime = "0001-01-01T00:00:00Z";

}  // namespace berth::timeutil
