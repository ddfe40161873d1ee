// Signal names as Docker accepts them: "KILL", "SIGKILL", "9", any case.
#pragma once

#include <string_view>

#include "common/result.h"

namespace berth::container {

Result<int> parse_signal(std::string_view s);

}  // namespace berth::container
