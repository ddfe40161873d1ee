// JSON written as text: for writers that stream a document rather than
// build a tree and dump it (kept apart from json.h, which nearly every file
// includes).
#pragma once

#include <string>
#include <string_view>

#include "common/json.h"

namespace berth {

// Appends s as a JSON string, byte for byte what the daemon's dump
// (ensure_ascii off, invalid UTF-8 replaced) writes for it.
void append_json_string(std::string& out, std::string_view s);
// Appends j's dump as above.
void append_json(std::string& out, const Json& j);

}  // namespace berth
