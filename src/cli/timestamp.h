// Client-side time arguments as the docker CLI reads them (logs --since /
// --until, events): Go durations ("10m", "1h30m", "1.5s"), RFC 3339
// timestamps with or without zone (no zone means local time), dates, and
// unix timestamps.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::cli {

// Go's time.ParseDuration, in nanoseconds.
Result<int64_t> parse_go_duration(std::string_view s);

// docker's timetypes.GetTimestamp: the value to send to the daemon.
// A duration d gives the unix seconds of now-d ("1732900000"); a timestamp
// gives "seconds.nanoseconds"; a unix timestamp is passed through.
// `now_ns` is the reference time; `local_offset_s` the local zone's UTC
// offset used for timestamps without a zone.
Result<std::string> get_timestamp(std::string_view value, int64_t now_ns, int64_t local_offset_s);

// The local zone's offset from UTC at the given time, in seconds.
int64_t local_utc_offset(int64_t unix_s);

// Go's Format in the local zone ("Z" in UTC, "+05:30" elsewhere):
// time.RFC3339 ("2026-11-30T08:00:00Z") without nanos, or jsonmessage's
// RFC3339NanoFixed ("2026-11-30T08:00:00.123456789Z") with them.
std::string local_rfc3339(int64_t unix_ns, bool nanos);

}  // namespace berth::cli
