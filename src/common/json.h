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

// Appends s as a JSON string, byte for byte what the daemon's dump
// (ensure_ascii off, invalid UTF-8 replaced) writes for it: for writers
// that stream JSON text rather than build a tree.
void append_json_string(std::string& out, std::string_view s);
// Appends j's dump as above.
void append_json(std::string& out, const Json& j);

}  // namespace berth
