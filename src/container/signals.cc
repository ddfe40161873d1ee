#include "container/signals.h"

#include <string>

#include "common/signals.h"

namespace berth::container {

Result<int> parse_signal(std::string_view s) {
  auto r = berth::parse_signal(s);
  if (!r) return make_error(Errc::invalid, "Invalid signal: " + std::string(s));
  return r;
}

}  // namespace berth::container
