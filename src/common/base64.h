// Standard base64 (RFC 4648, with padding), e.g. the
// X-Docker-Container-Path-Stat header.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth::str {

std::string base64_encode(std::string_view s);
// nullopt on bad input (whitespace is not allowed).
std::optional<std::string> base64_decode(std::string_view s);

}  // namespace berth::str
