// String helpers shared by every layer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::str {

std::vector<std::string> split(std::string_view s, char sep);
std::string_view trim(std::string_view s);
bool starts_with(std::string_view s, std::string_view p);
bool ends_with(std::string_view s, std::string_view p);
std::string to_lower(std::string_view s);
// dockerd's query boolean: "", "0", "no", "false", "none" (any case) are false.
bool parse_query_bool(std::string_view s);
std::optional<int64_t> parse_int(std::string_view s);
// Percent-decoding for URL query strings ('+' becomes a space).
std::string url_decode(std::string_view s);
// Percent-encoding of everything but RFC 3986 unreserved characters and
// the characters in `also_keep` (e.g. ":@/" for a path).
std::string url_encode(std::string_view s, std::string_view also_keep = {});

}  // namespace berth::str
