// JSON: a projecting parse for large listings (kept apart from json.h,
// which nearly every file includes).
#pragma once

#include <initializer_list>
#include <string_view>

#include "common/json.h"

namespace berth {

// Parse a JSON array of objects keeping only the members named in `keep`
// of each object (the others are skipped by a scanner, not decoded): the
// CLI's listings (`ps` with 1,000 containers reads ~600 KB of which it
// shows a third) spend most of their time building values they drop.
// The result equals parse_json(text) with every other member of each
// element erased. Input that is not an array of objects, or that the
// scanner finds malformed, takes the full parse (and its errors); a skipped
// member's value is checked for balance only, not validated, and a kept
// plain string's bytes are taken as they are (no UTF-8 check).
Result<Json> parse_json_array_members(std::string_view text, std::initializer_list<std::string_view> keep);

}  // namespace berth
