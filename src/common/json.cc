#include "common/json.h"

namespace berth {

Result<Json> parse_json(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(Errc::invalid, "invalid JSON");
  return j;
}

}  // namespace berth
