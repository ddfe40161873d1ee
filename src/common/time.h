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
// "0001-01-01T00:00:00Z", Go's zero time, as Docker prints unset times.
inline const char* kZeroTime = "0001-01-01T00:00:00Z";

}  // namespace berth::timeutil
