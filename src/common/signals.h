// Signal names as runc and docker accept them: "TERM", "SIGTERM", "15",
// "RTMIN+3", "RTMAX-1", case-insensitive. Shared by berth-runtime's `kill`
// and berthd's kill/stop-signal handling.
#pragma once

#include <string_view>

#include "common/result.h"

namespace berth {

Result<int> parse_signal(std::string_view s);

}  // namespace berth
