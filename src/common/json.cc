#include "common/json_members.h"
#include "common/json_write.h"

#include <charconv>
#include <cstring>

namespace berth {

Result<Json> parse_json(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(Errc::invalid, "invalid JSON");
  return j;
}

void append_json_string(std::string& out, std::string_view s) {
  // Printable ASCII without '"' or '\\' is written as it is; anything else
  // (escapes, UTF-8 to validate) goes through nlohmann's serializer.
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
      append_json(out, Json(std::string(s)));
      return;
    }
  }
  out += '"';
  out += s;
  out += '"';
}

void append_json(std::string& out, const Json& j) {
  out += j.dump(-1, ' ', false, Json::error_handler_t::replace);
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

// A plain string token ("…" without backslashes or control characters)
// as its value; false for anything the full parser must judge.
bool plain_string(std::string_view text, Json* out) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return false;
  std::string_view in = text.substr(1, text.size() - 2);
  for (char c : in)
    if (static_cast<unsigned char>(c) < 0x20 || c == '\\' || c == '"') return false;
  *out = std::string(in);
  return true;
}

// An integer token typed as the parser types it (unsigned unless negative).
bool plain_integer(std::string_view text, Json* out) {
  if (text.empty() || !(text.front() == '-' || (text.front() >= '0' && text.front() <= '9')) ||
      text.find_first_of(".eE") != std::string_view::npos || (text.size() > 1 && text[0] == '0') || text == "-" ||
      (text.size() > 2 && text[0] == '-' && text[1] == '0'))
    return false;
  if (text.front() == '-') {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size()) return false;
    *out = v;
    return true;
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return false;
  *out = v;
  return true;
}

// One value at sc: plain strings, integers, literals and the arrays and
// objects made of them are built directly (the listings' Names, Labels and
// Ports), any other token through the full parser; false when the text is
// malformed (the caller then takes the full parse and its error).
bool decode_at(Scanner& sc, Json* out, int depth) {
  sc.ws();
  if (sc.i >= sc.s.size() || depth > 64) return false;
  char c = sc.s[sc.i];
  if (c == '[') {
    ++sc.i;
    *out = Json::array();
    if (sc.eat(']')) return true;
    for (;;) {
      Json v;
      if (!decode_at(sc, &v, depth + 1)) return false;
      out->push_back(std::move(v));
      if (sc.eat(',')) continue;
      return sc.eat(']');
    }
  }
  if (c == '{') {
    ++sc.i;
    *out = Json::object();
    if (sc.eat('}')) return true;
    for (;;) {
      sc.ws();
      size_t kstart = sc.i;
      std::string_view key;
      bool esc;
      if (!sc.string(&key, &esc)) return false;
      Json k;
      if (esc || !plain_string(sc.s.substr(kstart, sc.i - kstart), &k)) return false;
      if (!sc.eat(':')) return false;
      Json v;
      if (!decode_at(sc, &v, depth + 1)) return false;
      // A repeated key keeps its last value, as the parser does.
      (*out)[k.get_ref<const std::string&>()] = std::move(v);
      if (sc.eat(',')) continue;
      return sc.eat('}');
    }
  }
  size_t start = sc.i;
  if (!sc.skip_value()) return false;
  std::string_view text = sc.s.substr(start, sc.i - start);
  if (plain_string(text, out) || plain_integer(text, out)) return true;
  if (text == "true" || text == "false") {
    *out = text == "true";
    return true;
  }
  if (text == "null") {
    *out = nullptr;
    return true;
  }
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return false;
  *out = std::move(j);
  return true;
}

// One kept member's value (text is exactly one value).
bool decode(std::string_view text, Json* out) {
  Scanner sc{text};
  if (!decode_at(sc, out, 0)) return false;
  sc.ws();
  return sc.i == text.size();
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
