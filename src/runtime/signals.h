// Signal names as runc and docker accept them: "TERM", "SIGTERM", "15",
// "RTMIN+3", case-insensitive.
#pragma once

#include <string_view>

#include "common/result.h"

namespace berth::runtime {

Result<int> parse_signal(std::string_view s);

}  // namespace berth::runtime
