#include "api/detach_keys.h"

namespace berth::api {

Result<std::string> parse_detach_keys(std::string_view spec) {
  std::string codes;
  size_t start = 0;
  for (;;) {
    size_t comma = spec.find(',', start);
    std::string_view key = spec.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (key.size() == 1) {
      codes += key[0];
    } else {
      bool ok = false;
      if (key.size() == 6) {
        std::string lower;
        for (char ch : key) lower += static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
        if (lower.compare(0, 5, "ctrl-") == 0) {
          char ch = lower[5];
          static constexpr std::string_view kSpecial = "@[\\]^_";  // 0, 27..31
          if (ch >= 'a' && ch <= 'z') {
            codes += static_cast<char>(ch - 'a' + 1);
            ok = true;
          } else if (auto p = kSpecial.find(ch); p != std::string_view::npos) {
            codes += static_cast<char>(p == 0 ? 0 : 26 + p);
            ok = true;
          }
        }
      }
      if (!ok) return make_error(Errc::invalid, "Unknown character: '" + std::string(key) + "'");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return codes;
}

bool EscapeMatcher::feed(std::string_view in, std::string& out) {
  if (keys_.empty()) {
    out.append(in);
    return false;
  }
  for (size_t i = 0; i < in.size(); ++i) {
    char ch = in[i];
    if (ch == keys_[matched_]) {
      if (++matched_ == keys_.size()) {
        matched_ = 0;
        return true;
      }
      continue;
    }
    if (matched_ == 0) {
      out += ch;
      continue;
    }
    // Mismatch after a partial match: the held-back bytes plus `ch` may
    // still end with a shorter start of the sequence (keys "a,a,b", input
    // "aaab"); keep the longest such suffix, forward the rest.
    std::string held = keys_.substr(0, matched_);
    held += ch;
    size_t keep = std::min(held.size(), keys_.size() - 1);
    for (; keep > 0; --keep)
      if (held.compare(held.size() - keep, keep, keys_, 0, keep) == 0) break;
    out.append(held, 0, held.size() - keep);
    matched_ = keep;
  }
  return false;
}

void EscapeMatcher::flush(std::string& out) {
  out.append(keys_, 0, matched_);
  matched_ = 0;
}

}  // namespace berth::api
