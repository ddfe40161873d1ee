#include "common/json_members.h"

#include <charconv>
#include <cstring>

namespace berth {

Result<Json> parse_json(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(Errc::invalid, "invalid JSON");
  return j;
}

namespace {

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// A cursor over the text; every step returns false on anything it does not
// expect, and the caller then takes the full parse.
struct Scanner {
  std::string_view s;
  size_t i = 0;

  void ws() {
    while (i < s.size() && is_ws(s[i])) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    ws();
    return i < s.size() && s[i] == c;
  }
  // At a '"': moves past the closing quote; *escaped says whether the
  // string held a backslash (then its raw text is not its value).
  bool string(std::string_view* raw, bool* escaped) {
    if (i >= s.size() || s[i] != '"') return false;
    size_t start = ++i;
    *escaped = false;
    for (;;) {
      const void* q = std::memchr(s.data() + i, '"', s.size() - i);
      if (!q) return false;
      size_t at = static_cast<size_t>(static_cast<const char*>(q) - s.data());
      // An escaped quote is preceded by an odd run of backslashes.
      size_t bs = 0;
      while (at - bs > start && s[at - bs - 1] == '\\') ++bs;
      if (std::memchr(s.data() + i, '\\', at - i)) *escaped = true;
      i = at + 1;
      if (bs % 2 == 0) {
        *raw = s.substr(start, at - start);
        return true;
      }
    }
  }
  // Moves past one value of any kind, nested brackets balanced.
  bool skip_value() {
    ws();
    if (i >= s.size()) return false;
    char c = s[i];
    if (c == '"') {
      std::string_view raw;
      bool esc;
      return string(&raw, &esc);
    }
    if (c == '{' || c == '[') {
      int depth = 0;
      while (i < s.size()) {
        char d = s[i];
        if (d == '"') {
          std::string_view raw;
          bool esc;
          if (!string(&raw, &esc)) return false;
          continue;
        }
        if (d == '{' || d == '[') ++depth;
        if (d == '}' || d == ']') {
          if (--depth == 0) {
            ++i;
            return true;
          }
        }
        ++i;
      }
      return false;
    }
    size_t start = i;
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_ws(s[i])) ++i;
    return i > start;
  }
};

// One kept member's value: plain strings and integers directly, anything
// else through the full parser.
bool decode(std::string_view text, Json* out) {
  if (text.size() >= 2 && text.front() == '"' && text.find('\\') == std::string_view::npos) {
    *out = std::string(text.substr(1, text.size() - 2));
    // Control characters are invalid in a JSON string: let the parser say so.
    for (char c : text)
      if (static_cast<unsigned char>(c) < 0x20) return false;
    return true;
  }
  if (!text.empty() && (text.front() == '-' || (text.front() >= '0' && text.front() <= '9')) &&
      text.find_first_of(".eE") == std::string_view::npos && !(text.size() > 1 && text[0] == '0') &&
      text != "-" && !(text.size() > 2 && text[0] == '-' && text[1] == '0')) {
    // Typed as the parser types them: unsigned unless negative.
    if (text.front() == '-') {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec == std::errc() && p == text.data() + text.size()) {
        *out = v;
        return true;
      }
    } else {
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec == std::errc() && p == text.data() + text.size()) {
        *out = v;
        return true;
      }
    }
  }
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return false;
  *out = std::move(j);
  return true;
}

bool project(std::string_view text, std::initializer_list<std::string_view> keep, Json* out) {
  Scanner sc{text};
  if (!sc.eat('[')) return false;
  *out = Json::array();
  if (sc.eat(']')) {
    sc.ws();
    return sc.i == text.size();
  }
  for (;;) {
    if (!sc.eat('{')) return false;
    Json obj = Json::object();
    if (!sc.eat('}')) {
      for (;;) {
        sc.ws();
        std::string_view key;
        bool esc;
        if (!sc.string(&key, &esc) || esc) return false;
        if (!sc.eat(':')) return false;
        bool wanted = false;
        for (auto k : keep)
          if (k == key) wanted = true;
        sc.ws();
        size_t start = sc.i;
        if (!sc.skip_value()) return false;
        if (wanted) {
          Json v;
          if (!decode(text.substr(start, sc.i - start), &v)) return false;
          obj[std::string(key)] = std::move(v);
        }
        if (sc.eat(',')) continue;
        if (sc.eat('}')) break;
        return false;
      }
    }
    out->push_back(std::move(obj));
    if (sc.eat(',')) continue;
    if (sc.eat(']')) break;
    return false;
  }
  sc.ws();
  return sc.i == text.size();
}

}  // namespace

Result<Json> parse_json_array_members(std::string_view text, std::initializer_list<std::string_view> keep) {
  Json out;
  if (project(text, keep, &out)) return out;
  Json full = BERTH_TRY(parse_json(text));
  if (!full.is_array()) return full;
  for (auto& e : full) {
    if (!e.is_object()) continue;
    for (auto it = e.begin(); it != e.end();) {
      bool wanted = false;
      for (auto k : keep)
        if (k == it.key()) wanted = true;
      it = wanted ? std::next(it) : e.erase(it);
    }
  }
  return full;
}

}  // namespace berth
