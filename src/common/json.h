// JSON: nlohmann::json with Result-returning parse helpers.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/result.h"

namespace berth {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// Parse without exceptions escaping; errors are Errc::invalid.
Result<Json> parse_json(std::string_view text);

}  // namespace berth
